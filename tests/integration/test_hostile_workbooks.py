"""A corpus of hostile workbooks: each refused with a clear message, in bounded time, nothing stored."""
from __future__ import annotations

import io
import re
import time
import zipfile
from datetime import date

import pytest
from sqlalchemy import func, select

from app.adapters import excel
from app.extensions import db
from app.models import SubmissionVersion, User
from app.services import uploads as uploads_svc
from app.services.errors import Invalid
from tests.helpers import fill_template, retail_values


@pytest.fixture
def reporter(app):
    return db.session.scalar(select(User).where(User.username == "canbo.sct"))


def template(reporter) -> bytes:
    return uploads_svc.template(user=reporter, regime_code="BCT-BANLE", agency_code="T01.SCT", period_key="2026-M12")[0]


def rezip(data: bytes, change) -> bytes:
    """Rewrite the parts of an .xlsx package: change(name, bytes) → bytes (or None to drop it)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = change(item.filename, src.read(item.filename))
            if body is not None:
                dst.writestr(item.filename, body)
    return out.getvalue()


def refused(reporter, data: bytes, pattern: str, seconds: float = 10.0) -> str:
    before = db.session.scalar(select(func.count()).select_from(SubmissionVersion))
    start = time.perf_counter()
    with pytest.raises(Invalid) as exc:
        uploads_svc.upload(user=reporter, regime_code="BCT-BANLE", agency_code="T01.SCT", period_key="2026-M12", data=data, file_name="x.xlsx")
    took = time.perf_counter() - start
    text = str(exc.value) + " " + " ".join(d.get("message", "") for d in exc.value.details or [])
    assert re.search(pattern, text), text
    assert took < seconds, f"took {took:.1f} s"
    assert db.session.scalar(select(func.count()).select_from(SubmissionVersion)) == before
    return text


def test_an_xml_entity_bomb_is_refused(reporter):
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
            '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><worksheet>&lol3;</worksheet>')
    data = rezip(template(reporter), lambda n, b: bomb.encode() if n == "xl/worksheets/sheet3.xml" else b)
    refused(reporter, data, r"Không đọc được|không phải mẫu|Thiếu trang|bảng tính|đừng chèn hay xóa cột")


def test_an_empty_upload_stores_an_empty_draft_not_an_error(reporter):
    data = fill_template(template(reporter), {})
    result = uploads_svc.upload(user=reporter, regime_code="BCT-BANLE", agency_code="T01.SCT", period_key="2026-M12", data=data,
                        file_name="trong.xlsx")
    assert result.version.values == []


def test_external_entities_are_not_followed(reporter, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("MẬT")

    def inject(name, body):
        if name != "xl/worksheets/sheet3.xml":
            return body
        text = body.decode()
        head, rest = text.split("?>", 1) if text.startswith("<?xml") else ("", text)
        doctype = f'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        return ((head + "?>" if head else "") + doctype + rest.replace(">BL_HH_01<", ">&xxe;<", 1)).encode()
    data = rezip(template(reporter), inject)
    text = refused(reporter, data, r"không đọc được \(có khai báo thực thể XML")
    assert "MẬT" not in text


def test_a_macro_enabled_or_foreign_workbook_is_refused(reporter):
    data = rezip(template(reporter), lambda n, b: b)
    with zipfile.ZipFile(io.BytesIO(data), "a") as z:
        pass
    macro = rezip(data, lambda n, b: b.replace(b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml")
                  if n == "[Content_Types].xml" else b)
    out = io.BytesIO(macro)
    with zipfile.ZipFile(out, "a") as z:
        z.writestr("xl/vbaProject.bin", b"\x00" * 64)
    refused(reporter, out.getvalue(), r"macro|VBA|không nhận|Không đọc được")


def test_a_million_rows_is_refused_in_bounded_time(reporter):
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(1, 1_000_001))
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f'<dimension ref="A1:Z1000000"/><sheetData>{rows}</sheetData></worksheet>')
    data = rezip(template(reporter), lambda n, b: sheet.encode() if n == "xl/worksheets/sheet3.xml" else b)
    refused(reporter, data, r"vượt giới hạn|quá nhiều|giải nén|ô", seconds=20)


def test_formulas_pointing_to_other_files_are_not_followed(reporter):
    def external(wb, ws, rows):
        ws[f"E{rows['BL_HH_01']}"] = "='file:///etc/[passwd]Sheet1'!A1"
    data = fill_template(template(reporter), retail_values({"BL_HH_01": None}), edit=external)
    result = uploads_svc.upload(user=reporter, regime_code="BCT-BANLE", agency_code="T01.SCT", period_key="2026-M12", data=data,
                        file_name="x.xlsx")
    stored = {v.indicator: v for v in result.version.values}
    assert "BL_HH_01" not in stored  # the formula is never evaluated; the cell is simply empty (a draft may be)
    assert any(f.code == "required" and f.indicator == "BL_HH_01" for f in result.findings)


def test_huge_strings_and_dates_where_numbers_belong(reporter):
    data = fill_template(template(reporter), retail_values({"BL_HH_01": "9" * 5000, "BL_HH_02": date(2026, 1, 1)}),
                         comments={"BL_HH_03": "x" * 10000})
    text = refused(reporter, data, r"ngày|quá lớn|dài quá")
    assert "ngày" in text and ("quá lớn" in text or "không phải là số" in text) and "dài quá" in text


def test_the_reader_limits_are_enforced_directly():
    with pytest.raises(excel.WorkbookRefused, match="thành phần"):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            z.writestr("xl/workbook.xml", "<workbook/>")
            for i in range(600):
                z.writestr(f"junk/{i}.xml", "x")
        excel.check_package(out.getvalue(), excel.Limits())


@pytest.mark.parametrize("kind", ["csv-renamed", "old-xls", "zip-without-workbook"])
def test_a_file_that_is_not_an_xlsx_is_told_in_vietnamese_what_to_do(reporter, kind):
    data = {"csv-renamed": b"ma,gia tri\nBL_HH_01,100\n", "old-xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600,
            "zip-without-workbook": rezip(template(reporter), lambda n, b: None if n == "xl/workbook.xml" else b)}[kind]
    text = refused(reporter, data, r"không phải (bảng tính )?Excel \.xlsx")
    assert not re.search(r"Cannot|detect|format|Error", text), text  # the library's English stays in the log
