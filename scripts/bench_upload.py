"""Benchmark: reading workbooks, uploading a province-wide workbook, saving a 500-cell web form.

    .venv/bin/python scripts/bench_upload.py [--rows-baseline 100000] [--repeat 5]

Set DATABASE_URL to measure on PostgreSQL (an empty database; it is migrated and filled);
by default a throwaway SQLite file is used. Prints figures only; asserts nothing.

Targets (issue "Submitting reports"): a workbook of 20,000 value cells parsed, validated and
stored in under 1 s; a 500-cell web form saved in under 100 ms of server time.
"""
from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENPYXL_LXML", "False")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import openpyxl  # noqa: E402
import python_calamine  # noqa: E402

GROUPS = 19  # breakdown columns; with the computed total a row has 20 cells


def synthetic_catalogue(root: Path, rows_big: int, rows_small: int) -> None:
    """The real catalogue plus two synthetic monthly regimes owed by provincial trade departments:
    BENCH-TINH (rows_big indicators × 20 columns) and BENCH-WEB (rows_small × 20)."""
    shutil.copytree(ROOT / "indicators", root / "indicators")
    shutil.copytree(ROOT / "report_templates", root / "report_templates")
    options = "\n".join(f"      - {{code: N{i:02d}, name_vi: Nhóm {i:02d}}}" for i in range(1, GROUPS + 1))
    with (root / "indicators" / "disaggregations.yaml").open("a", encoding="utf-8") as f:
        f.write(f"  - code: BENCH_NHOM\n    name_vi: Nhóm đơn vị\n    name_en: Unit group\n    options:\n{options}\n")
    total = max(rows_big, rows_small)
    inds = "\n".join(f"  - {{code: BENCH_{i:04d}, name_vi: Chỉ tiêu thử {i:04d}, unit: đơn vị, min: 0}}"
                     for i in range(1, total + 1))
    (root / "indicators" / "bench.yaml").write_text(f"indicators:\n{inds}\n", encoding="utf-8")
    for code, rows in (("BENCH-TINH", rows_big), ("BENCH-WEB", rows_small)):
        d = root / "report_templates" / code
        (d / "forms").mkdir(parents=True)
        (d / "regime.yaml").write_text(f"""\
code: {code}
name_vi: Báo cáo thử hiệu năng {code}
type: periodic
frequency: monthly
issuing_agency: BCT
legal_basis: Chỉ dùng để đo hiệu năng
valid_from: 2025-07-01
content: Số liệu thử
content_kind: data
sending_methods: [system]
cutoff: {{rule: decree09}}
tiers:
  - name: Sở Công Thương gửi Bộ Công Thương
    reporters: {{levels: [department], department_kinds: [SCT]}}
    receiver: BCT
    deadline: {{rule: day_of_month, day: 20}}
forms: [BIEU01]
""", encoding="utf-8")
        lines = "\n".join(f"  - {{indicator: BENCH_{i:04d}, row: \"{i}\"}}" for i in range(1, rows + 1))
        (d / "forms" / "BIEU01.yaml").write_text(
            f"code: BIEU01\ntitle: Biểu thử\ndisaggregations: [BENCH_NHOM]\ncolumns: [current, previous]\n"
            f"change_warning_pct: 1000\nrows:\n{lines}\n"
            f"rules:\n  - {{check: \"BENCH_0002 <= BENCH_0001 * 1000\", severity: warning}}\n", encoding="utf-8")


def fill(data: bytes, rows: int) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["Biểu 01"]
    for r in range(7, 7 + rows):
        for c in range(6, 6 + GROUPS):  # F.. : the breakdown columns (E is the computed total)
            ws.cell(row=r, column=c, value=(r * 31 + c * 7) % 997 + 0.5)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def baseline(rows: int, cols: int = 20) -> None:
    path = Path(tempfile.mkdtemp()) / "baseline.xlsx"
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Data")
    for r in range(rows):
        ws.append([r * cols + c for c in range(cols)])
    t = time.perf_counter()
    wb.save(path)
    print(f"baseline workbook {rows:,} × {cols} written by openpyxl (write-only): {time.perf_counter() - t:.1f} s, "
          f"{path.stat().st_size / 1e6:.1f} MB")
    t = time.perf_counter()
    rb = openpyxl.load_workbook(path, read_only=True)
    n = sum(1 for _ in rb["Data"].iter_rows(values_only=True))
    print(f"  openpyxl read-only: {time.perf_counter() - t:.2f} s ({n:,} rows)")
    t = time.perf_counter()
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    n = len(book.get_sheet_by_name("Data").to_python())
    print(f"  python-calamine:    {time.perf_counter() - t:.2f} s ({n:,} rows)")
    shutil.rmtree(path.parent)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows-baseline", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-baseline", action="store_true")
    args = ap.parse_args()
    if not args.skip_baseline:
        baseline(args.rows_baseline)

    from flask_migrate import upgrade
    from sqlalchemy import select

    from app import create_app
    from app.extensions import db
    from app.models import User
    from app.services import agencies, catalogue
    from app.services import submissions as svc
    from app.services import uploads as uploads_svc
    from app.services.seed import DEMO_PASSWORD, seed_demo

    work = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{work / 'bench.sqlite'}"
    big_rows, web_rows = 1000, 25
    synthetic_catalogue(work, big_rows, web_rows)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_DIR": str(work), "SECRET_KEY": "bench-secret-0123456789",
                      "WTF_CSRF_ENABLED": False, "TESTING": False})
    with app.app_context():
        upgrade(directory=str(ROOT / "app" / "migrations"))
        agencies.load_agencies()
        catalogue.load_catalogue(root=work)
        seed_demo()
        user = db.session.scalar(select(User).where(User.username == "canbo.sct"))
        report = svc.open_report(user=user, regime_code="BENCH-TINH", agency_code="T01.SCT", period_key="2026-M12")
        cells = len(report.layout.cells)
        inputs = len(report.layout.input_keys)
        template, _ = uploads_svc.template(user=user, regime_code="BENCH-TINH", agency_code="T01.SCT", period_key="2026-M12")
        filled = fill(template, big_rows)
        t = time.perf_counter()
        from app.adapters import excel

        book = excel.read_workbook(filled, excel.Limits())
        read_s = time.perf_counter() - t
        print(f"\nprovince-wide workbook: {cells:,} cells ({inputs:,} typed, {cells - inputs:,} computed totals), "
              f"{len(filled) / 1e6:.2f} MB; database {db.engine.dialect.name}")
        print(f"  read only (calamine + template checks): {read_s * 1000:.0f} ms, {len(book.raw):,} cells read")
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.enable()
            uploads_svc.upload(user=user, regime_code="BENCH-TINH", agency_code="T01.SCT", period_key="2026-M12",
                       data=filled, file_name="tinh.xlsx")
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            result = uploads_svc.upload(user=user, regime_code="BENCH-TINH", agency_code="T01.SCT", period_key="2026-M12",
                                data=filled, file_name="tinh.xlsx")
            times.append(time.perf_counter() - t)
            assert len(result.version.values) == cells
            db.session.expire_all()
        print(f"  upload = read + validate + store + commit, {args.repeat} runs: median {statistics.median(times) * 1000:.0f} ms, "
              f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms (target < 1000 ms)")

        small = svc.open_report(user=user, regime_code="BENCH-WEB", agency_code="T01.SCT", period_key="2026-M12")
        form = {f"v|{c}|{k}": f"{(i * 37) % 991},5" for i, (c, k) in enumerate(small.layout.input_keys)}
        print(f"\nweb form: {len(small.layout.cells)} cells ({len(form)} typed)")
    client = app.test_client()
    client.post("/login", data={"username": "canbo.sct", "password": DEMO_PASSWORD})
    url = "/reports/BENCH-WEB/T01.SCT/2026-M12"
    times = []
    for i in range(args.repeat * 4):
        form["v|BENCH_0001|BENCH_NHOM=N01"] = str(i)
        t = time.perf_counter()
        response = client.post(url, data=form, headers={"X-Autosave": "1"})
        times.append(time.perf_counter() - t)
        assert response.status_code == 200 and response.get_json()["saved"], response.data[:300]
        form["revision"] = str(response.get_json()["revision"])
    print(f"  save (POST, parse, validate, store, commit; in-process, no network), {len(times)} runs: "
          f"median {statistics.median(times) * 1000:.0f} ms, min {min(times) * 1000:.0f} ms (target < 100 ms)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
