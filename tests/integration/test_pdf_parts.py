"""A long report is rendered in parts (app/adapters/pdf_render.py, exports.parts): the report, then
slices of its appendices, laid out side by side in worker processes, each part kept by its HTML's
hash; the joined PDF reads as one document — pages numbered as Decree 30/2020 says (top centre, not
the first page, each appendix on its own), the appendix's rows numbered through, headings once,
the footer line on every page."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from app.adapters import pdf_render
from app.extensions import db
from app.models import User
from app.services import exports
from tests.integration.test_center import load_history

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")


def pages_text(data: bytes) -> list[str]:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout.decode().split("\f")[:-1]


def test_a_long_report_in_parts_reads_as_one_document_and_keeps_what_did_not_change(app, monkeypatch):
    load_history()
    analyst = db.session.scalar(select(User).where(User.username == "phantich.vpcp"))
    monkeypatch.setattr(exports, "PART_ROWS", 20)  # the 79 units owing Q1 2025 in four slices, appendix 1 in several
    doc, _v = exports.build_document(user=analyst, regime="VPCP-TTHC", period="2025-Q1")
    parts = exports.parts(doc)
    agency_parts = [p for p in parts if p["agencies"] is not None]
    assert len(doc.agencies) == 79 and len(agency_parts) == 4 and [p["agencies_from"] for p in agency_parts] == [0, 20, 40, 60]
    unit_parts = [p for p in parts if p["units"]]  # the three provinces with figures, ~12 rows each: one a part
    assert [u["code"] for p in unit_parts for u in p["units"]] == [u["code"] for u in doc.units] and len(unit_parts) == 3

    shutil.rmtree(Path(app.config["INSTANCE_DIR"]) / "exports", ignore_errors=True)
    data, rendered = exports.render_pdf(doc, "VPCP-TTHC")
    assert rendered == len(parts)
    pages = pages_text(data)
    # numbered as Decree 30/2020 says: at the top, the first page not, each appendix on its own
    a1 = next(i for i, p in enumerate(pages) if "Phụ lục 1: Số liệu theo tỉnh, thành phố" in p)
    a2 = next(i for i, p in enumerate(pages) if "Phụ lục 2: Các đơn vị báo cáo" in p)
    assert 0 < a1 < a2 < len(pages) - 3  # appendix 2 runs over several parts' pages
    for start, end in ((0, a1), (a1, a2), (a2, len(pages))):
        for k in range(start, end):
            top = pages[k].strip().splitlines()[0].strip()
            if k == start:
                assert not top.isdigit(), (k, top)
            else:
                assert top == str(k - start + 1), (k, top)
    assert all("SHA-256 số liệu" in p for p in pages)  # the footer on every page
    text = "\n".join(pages)
    assert text.count("Phụ lục 2: Các đơn vị báo cáo") == 1 and text.count("Phụ lục 1: Số liệu theo tỉnh, thành phố") == 1
    assert text.count("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM") == 1
    appendix = text.split("Phụ lục 2: Các đơn vị báo cáo", 1)[1]
    listed = [int(m) for m in re.findall(r"^\s*(\d+)\s+\S.*\([A-Z0-9.-]+\)\s+(?:Gửi|Chưa|Bị|Đang)", appendix, re.M)]
    assert listed == list(range(1, 80))  # the list's numbers run on across the slices
    assert "Tỉnh Lào Cai (T10-63)" in text and "Thành phố Hồ Chí Minh" in text

    # the same document again: every part kept; made a minute later: only the report itself again
    again, rendered = exports.render_pdf(doc, "VPCP-TTHC")
    assert rendered == 0 and pages_text(again) == pages
    doc.generated = "23:59 31/12/2026"
    later, rendered = exports.render_pdf(doc, "VPCP-TTHC")
    assert rendered == 1 and "Tạo bởi baocao lúc 23:59 31/12/2026" in "\n".join(pages_text(later))
    # a narrative changed: only the report itself is laid out again, the appendices are kept
    doc.sections[0]["texts"] = [{"agency": "", "text": "Đánh giá chung: giải quyết đúng hạn tăng."}]
    changed, rendered = exports.render_pdf(doc, "VPCP-TTHC")
    assert rendered == 1 and "Đánh giá chung: giải quyết đúng hạn tăng." in pages_text(changed)[0]


def test_parts_laid_out_in_processes_give_the_same_document():
    footer = pdf_render.css_string('baocao · "trích dẫn" \\ </style><b>không phải thẻ</b> l\'an')  # quotes, a backslash, markup
    head = ("<!doctype html><html lang='vi'><head><meta charset='utf-8'><style>@page { size: A4; margin: 20mm 15mm 20mm 30mm;"
            f" @bottom-left {{ content: \"{footer}\"; font-size: 7pt }} }}</style></head><body>")
    parts = [head + "<h1>BÁO CÁO</h1><p>Phần chính: Ủy ban nhân dân tỉnh Điện Biên</p></body></html>"] + [
        head + "".join(f"<p>Dòng {k}: Xã Ẳng Nưa</p>" for k in range(start, start + 60)) + "</body></html>" for start in (1, 61, 121)]
    try:
        alone, _ = pdf_render.document(parts, processes=1)
        side_by_side, rendered = pdf_render.document(parts, processes=2)
    finally:
        pdf_render.shutdown()
    assert rendered == 4
    assert pages_text(side_by_side) == pages_text(alone)
    pages = pages_text(alone)
    assert "Phần chính: Ủy ban nhân dân tỉnh Điện Biên" in pages[0] and "Dòng 180: Xã Ẳng Nưa" in pages[-1]
    assert [p.strip().splitlines()[0].strip() for p in pages[1:]] == [str(i) for i in range(2, len(pages) + 1)]
    assert not pages[0].strip().startswith("1")  # the first page bears no number
    assert all("</style><b>không phải thẻ</b>" in p and '"trích dẫn" \\' in p and "l'an" in p for p in pages)


def test_renderers_exit_with_the_process_that_started_them(tmp_path):
    """A web or job worker killed (or restarted by gunicorn) must not leave its renderer processes
    behind: they exit within a second or two of it."""
    import os
    import signal
    import sys
    import time

    script = ("import sys, time\nfrom app.adapters import pdf_render\n"
              "if __name__ == '__main__':\n    pdf_render.warm(2)\n    print('ready', flush=True)\n    time.sleep(60)\n")
    (tmp_path / "starter.py").write_text(script)
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, str(tmp_path / "starter.py")], cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"

        def children() -> set[int]:
            out = set()
            for stat in Path("/proc").glob("[0-9]*/stat"):
                try:
                    fields = stat.read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == proc.pid:
                    out.add(int(stat.parent.name))
            return out

        renderers = children()
        assert len(renderers) >= 2  # the two renderers (and multiprocessing's resource tracker)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid) for pid in renderers):
            time.sleep(0.2)
        left = [pid for pid in renderers if Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid)]
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert not left, "renderer processes outlived the process that started them"
    finally:
        if proc.poll() is None:
            proc.kill()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:", 1)[1].split("\n", 1)[0]
    except (OSError, IndexError):
        return "zombie"


def test_a_renderer_that_dies_costs_no_report():
    """A renderer killed (out of memory, say) breaks its pool: the report being made is finished in
    the process that asked, and the next one gets new renderers."""
    import os
    import signal

    head = "<!doctype html><html lang='vi'><head><meta charset='utf-8'></head><body>"
    parts = [head + f"<p>Phần {k}: Phường Hoàn Kiếm</p></body></html>" for k in range(4)]
    try:
        pdf_render.warm(2)
        victim = pdf_render._renderers.processes()[0].pid
        os.kill(victim, signal.SIGKILL)
        data, rendered = pdf_render.document(parts, processes=2)
        assert rendered == 4 and [p.strip().splitlines()[-1] for p in pages_text(data)][0].endswith("Phường Hoàn Kiếm")
        assert "Phần 3: Phường Hoàn Kiếm" in pages_text(data)[3]
        again, _ = pdf_render.document([p.replace("Phần", "Mục") for p in parts], processes=2)  # new renderers
        assert "Mục 3: Phường Hoàn Kiếm" in pages_text(again)[3]
    finally:
        pdf_render.shutdown()
