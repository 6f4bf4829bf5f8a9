"""Review findings 3 and 13 (upload part): the work of reading an uploaded workbook is bounded by
what the regime version defines, not by what the file's identity sheet claims."""
from __future__ import annotations

import io
import time

import openpyxl
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


def _template(reporter, period="2026-M12") -> bytes:
    return uploads_svc.template(user=reporter, regime_code="BCT-BANLE", agency_code="T01.SCT", period_key=period)[0]


def _upload(reporter, data: bytes, period="2026-M12"):
    return uploads_svc.upload(user=reporter, regime_code="BCT-BANLE", agency_code="T01.SCT", period_key=period, data=data,
                      file_name="x.xlsx")


def _hostile(data: bytes, meta_rows: list[list], extra_sheet: bool = True) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    if extra_sheet:  # a sparse sheet: two cells, 2,000,000 cells once expanded; 10 KB on disk
        ws = wb.create_sheet("Nháp")
        ws["A1"] = 1
        ws["T99999"] = 1
    meta = wb[excel.META_SHEET]
    for row in meta_rows:
        meta.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_identity_rows_cannot_make_the_reader_expand_a_sheet_again_and_again(reporter, monkeypatch):
    data = _hostile(fill_template(_template(reporter), retail_values()),
                    [["sheet", f"F{i}", "Nháp", 7] for i in range(40)] + [["sheet", "F99", "Biểu 01", "inf"]])
    assert len(data) < 40_000
    reads: list[str] = []
    original = excel._rows
    monkeypatch.setattr(excel, "_rows", lambda wb, name, limits: reads.append(name) or original(wb, name, limits))
    start = time.process_time()
    result = _upload(reporter, data)
    took = time.process_time() - start
    assert result.version is not None  # the real form was read and saved
    assert sorted(reads) == sorted([excel.META_SHEET, "Biểu 01"]), reads  # each sheet at most once, the scratch sheet never
    assert took < 5, f"{took:.1f} s of CPU"


def test_the_identity_is_checked_before_any_form_sheet_is_read(reporter, monkeypatch):
    other = _template(reporter, period="2026-M11")
    reads: list[str] = []
    original = excel._rows
    monkeypatch.setattr(excel, "_rows", lambda wb, name, limits: reads.append(name) or original(wb, name, limits))
    before = db.session.scalar(select(func.count()).select_from(SubmissionVersion))
    with pytest.raises(Invalid, match="kỳ") as err:
        _upload(reporter, other)
    assert err.value.details[0]["code"] == "wrong_template"
    assert reads == [excel.META_SHEET]
    assert db.session.scalar(select(func.count()).select_from(SubmissionVersion)) == before


@pytest.mark.parametrize("first_row", ["inf", "abc", "-5", "1e308"])
def test_a_hostile_first_row_in_the_identity_sheet_is_ignored(reporter, first_row):
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(_template(reporter), retail_values())))
    meta = wb[excel.META_SHEET]
    for row in meta.iter_rows():
        if row[0].value == "sheet":
            row[3].value = first_row
    out = io.BytesIO()
    wb.save(out)
    assert _upload(reporter, out.getvalue()).version is not None


def test_an_oversized_identity_sheet_is_refused(reporter):
    data = _hostile(_template(reporter), [["column", "01", "E", "v:x", "y" * 10] for _ in range(5000)], extra_sheet=False)
    with pytest.raises(Invalid, match="vượt giới hạn"):
        _upload(reporter, data)
