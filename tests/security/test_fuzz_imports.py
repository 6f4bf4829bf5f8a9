"""Property-based fuzzing (hypothesis) of what designers and clerks upload: catalogue zips and filled
workbooks. Whatever the content, the answer is a refusal with reasons (Invalid/Forbidden → 4xx) or a
success — never another exception (a 500) — in bounded time, and a refusal stores nothing."""
from __future__ import annotations

import io
import time
import tracemalloc
import zipfile

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import MergedCell
from sqlalchemy import func, select

from app.adapters import excel
from app.extensions import db
from app.models import Regime, SubmissionVersion, User
from app.services import designer as designer_svc
from app.services import uploads as uploads_svc
from app.services.errors import Forbidden, Invalid

FUZZ = settings(max_examples=30, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

PATHS = ["indicators/disaggregations.yaml", "indicators/x.yaml", "report_templates/FUZZ/regime.yaml",
         "report_templates/FUZZ/forms/BIEU01.yaml", "report_templates/BCT-BANLE/regime.yaml"]
KEYS = ["code", "name_vi", "tiers", "forms", "indicators", "disaggregations", "options", "rows", "issuing_agency",
        "receiver", "reporters", "levels", "deadline", "rule", "day", "frequency", "&a", "*a", "<<", "!!python/object"]
scalars = st.one_of(st.sampled_from(KEYS), st.text(max_size=30), st.integers(-10**12, 10**12),
                    st.floats(allow_nan=True), st.booleans(), st.none())


def _yaml(tree) -> str:
    import yaml

    return yaml.safe_dump(tree, allow_unicode=True)


yaml_docs = st.one_of(
    st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                  st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
                 max_leaves=30).map(_yaml),
    st.text(alphabet="[]{}:&*-!|>'\" \nabc01", max_size=400),  # raw syntax noise, anchors and aliases included
)


def _zip(files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
    return out.getvalue()


@FUZZ
@given(files=st.dictionaries(st.sampled_from(PATHS), yaml_docs, min_size=1, max_size=4))
def test_any_catalogue_zip_is_refused_or_loaded_quickly(app, files):
    designer = db.session.scalar(select(User).where(User.username == "thietke.bct"))
    regimes = db.session.scalar(select(func.count()).select_from(Regime))
    tracemalloc.start()
    start = time.process_time()
    try:
        designer_svc.import_zip(user=designer, data=_zip(files))
    except (Invalid, Forbidden):
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Regime)) == regimes
    finally:
        took = time.process_time() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert took < 3, f"{took:.1f} s"
    assert peak < 200 * 1024 * 1024, f"{peak / 1e6:.0f} MB"


printable = st.characters(blacklist_categories=("Cc", "Cs"))  # what a worksheet cell can hold at all
cell_values = st.one_of(st.text(alphabet=printable, max_size=40), st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**20, 10**20),
                        st.sampled_from(["inf", "-inf", "nan", "=1/0", "#DIV/0!", "1.234.567,5", "Có", "x" * 5000]),
                        st.booleans(), st.none())
edits = st.lists(st.tuples(st.sampled_from([excel.META_SHEET, "Biểu 01"]), st.integers(1, 40), st.integers(1, 12), cell_values),
                 max_size=15)


@pytest.fixture(scope="module")
def template_bytes(app):
    with app.app_context():
        reporter = db.session.scalar(select(User).where(User.username == "canbo.sct"))
        return uploads_svc.template(user=reporter, regime_code="BCT-BANLE", agency_code="T01.SCT", period_key="2026-M12")[0]


@FUZZ
@given(changes=edits)
def test_any_edit_of_a_template_is_refused_cell_by_cell_or_saved(app, template_bytes, changes):
    wb = openpyxl.load_workbook(io.BytesIO(template_bytes))
    for sheet, row, col, value in changes:
        cell = wb[sheet].cell(row=row, column=col)
        if not isinstance(cell, MergedCell):  # a merged area's other cells cannot be typed into
            cell.value = value
    out = io.BytesIO()
    wb.save(out)
    reporter = db.session.scalar(select(User).where(User.username == "canbo.sct"))
    before = db.session.scalar(select(func.count()).select_from(SubmissionVersion))
    start = time.process_time()
    try:
        uploads_svc.upload(user=reporter, regime_code="BCT-BANLE", agency_code="T01.SCT", period_key="2026-M12",
                   data=out.getvalue(), file_name="fuzz.xlsx")
        db.session.rollback()  # a success is undone: every example starts from the same state
    except Invalid as exc:
        assert str(exc) and all("message" in d for d in exc.details or [])
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(SubmissionVersion)) == before
    assert time.process_time() - start < 3
