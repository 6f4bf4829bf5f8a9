"""Reading the forms ministries already publish (tests/forms/corpus.py): the corpus meets the
accuracy floor — rows recognised, right parent and unit, right library match — and bad input is
refused with the reason, nothing proposed from it."""
from __future__ import annotations

import io
import time
import zipfile

import pytest

from app.adapters.excel import Limits
from app.adapters.form_files import FormFileRefused, read_tables
from app.domain import form_import as fi
from tests.forms.corpus import big_form, build, forms, library, score

LIBRARY, OPTIONS = library()
CORPUS = forms()


def _propose(form):
    data, name = build(form)
    tables = read_tables(data, name)
    return fi.propose(tables[form.tables_before], LIBRARY, OPTIONS, prefix="NEW"), tables


def test_the_corpus_has_the_shapes_ministries_publish():
    assert len(CORPUS) >= 12
    assert {f.kind for f in CORPUS} == {"xlsx", "docx"}
    assert any(f.nam_nu for f in CORPUS) and any(f.indent_only for f in CORPUS) and any(f.tables_before for f in CORPUS)
    assert any(f.notes for f in CORPUS) and any(f.of_which_heading_before for f in CORPUS) and any(f.unit_in_label for f in CORPUS)


def test_the_corpus_meets_the_accuracy_floor():
    total = {"rows": 0, "recognised": 0, "parent": 0, "unit": 0, "match": 0, "extra": 0}
    for form in CORPUS:
        s = score(form, _propose(form)[0])
        for k in total:
            total[k] += getattr(s, k)
        assert s.columns_ok, form.name
    assert total["extra"] == 0
    assert total["recognised"] == total["rows"]
    assert total["parent"] / total["rows"] >= 0.95 and total["unit"] / total["rows"] >= 0.95
    assert total["match"] / total["rows"] >= 0.95


@pytest.mark.parametrize("form", CORPUS, ids=lambda f: f.name)
def test_each_form(form):
    p, tables = _propose(form)
    s = score(form, p)
    assert (s.recognised, s.extra) == (s.rows, 0), [r.label for r in p.rows]
    assert s.parent >= s.rows - 1 and s.unit >= s.rows - 1  # at most one slip per form
    if form.tables_before:
        assert len(tables) == form.tables_before + 1  # the designer picks the table
    assert p.form_code.startswith("BIEU")


def test_the_retail_form_is_the_library_and_its_structure():
    p, _ = _propose(CORPUS[0])
    by_code = {r.indicator: r for r in p.rows}
    assert set(by_code) >= {"BL_TONG", "BL_HH", "BL_HH_07_XD", "BL_LT_03"} and not any(r.new for r in p.rows)
    assert p.rows[by_code["BL_HH"].parent].indicator == "BL_TONG" and by_code["BL_TONG"].subtotal
    assert by_code["BL_HH_07_XD"].of_which and p.rows[by_code["BL_HH_07_XD"].parent].indicator == "BL_HH_07"
    form, new = fi.form_document(p)
    assert new == [] and form["columns"] == ["current", "cumulative", "pct_same_period_last_year"]
    assert {"indicator": "BL_HH_07_XD", "row": "-", "parent": "BL_HH_07", "of_which": True} in form["rows"]
    assert any("Ước thực hiện" in w for w in p.warnings)


def test_a_parent_whose_figures_do_not_add_up_has_of_which_rows_and_says_so():
    labour = next(f for f in CORPUS if f.name == "labour-ofwhich-xlsx")
    p, _ = _propose(labour)
    assert [r.of_which for r in p.rows[:3]] == [False, True, True]
    assert any("khác tổng các dòng dưới" in w for w in p.warnings)


def test_breakdown_columns_become_the_libraries_disaggregation():
    civil = next(f for f in CORPUS if f.name == "civil-servants-docx")
    p, _ = _propose(civil)
    form, new = fi.form_document(p)
    assert p.breakdown == "GIOI_TINH" and form["disaggregations"] == ["GIOI_TINH"]
    assert [r.indicator for r in p.rows] == ["CBCC_CONGCHUC", "CBCC_VIENCHUC", "CBCC_CAPXA", "CBCC_DTTS"] and new == []
    assert p.rows[0].samples and set(p.rows[0].samples) == {"NAM", "NU"}


def test_new_indicators_get_codes_of_their_own_and_the_forms_codes_where_it_has_them():
    budget = next(f for f in CORPUS if f.name == "budget-total-last-xlsx")
    p, _ = _propose(budget)
    assert [r.indicator for r in p.rows] == ["NEW_01", "NEW_02", "NEW_03", "NEW_04", "NEW_05", "NEW_10"]
    assert p.rows[5].subtotal and p.rows[0].parent == 5
    form, new = fi.form_document(p)
    assert len(new) == 6 and new[0]["unit"] == "triệu đồng" and new[0]["aggregation"] == "sum"


def test_a_sixty_row_form_imports_in_under_two_seconds():
    form = big_form()
    data, name = build(form)
    t = time.perf_counter()
    p = fi.propose(read_tables(data, name)[0], LIBRARY, OPTIONS)
    took = time.perf_counter() - t
    assert len(p.rows) == 60 and score(form, p).parent == 60
    assert took < 10  # the benchmark measures it (scripts/bench_form_import.py); this only catches a collapse


# ------------------------------------------------------------------------------------ bad input
def _docx_with_only_a_picture() -> bytes:
    from docx import Document

    from app.adapters import charts

    png = io.BytesIO()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1))
    fig.savefig(png, format="png")
    plt.close(fig)
    png.seek(0)
    doc = Document()
    doc.add_paragraph("Biểu số 01 (bản chụp)")
    doc.add_picture(png)
    out = io.BytesIO()
    doc.save(out)
    del charts
    return out.getvalue()


@pytest.mark.parametrize("data, name, says", [
    (b"%PDF-1.7 ...", "bieu.pdf", "PDF"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "bieu.doc", ".doc/.xls"),
    (b"not a zip at all", "bieu.docx", "không phải"),
    (b"PK\x03\x04broken", "bieu.xlsx", "không phải"),
    (b"anything", "bieu.txt", "Chỉ nhận"),
], ids=["pdf", "old-word", "not-docx", "broken-xlsx", "txt"])
def test_files_that_are_not_forms_are_refused_with_the_reason(data, name, says):
    with pytest.raises(FormFileRefused, match=says):
        read_tables(data, name)


def test_a_scanned_form_is_refused_with_the_reason():
    with pytest.raises(FormFileRefused, match="scan"):
        read_tables(_docx_with_only_a_picture(), "bieu.docx")


def test_a_zip_bomb_and_an_oversized_file_are_refused_before_parsing():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", b"<" + b" " * (120 * 1024 * 1024))
    with pytest.raises(FormFileRefused, match="giải nén"):
        read_tables(out.getvalue(), "bieu.docx")
    with pytest.raises(FormFileRefused, match="vượt giới hạn"):
        read_tables(b"x" * 2048, "bieu.docx", Limits(max_bytes=1024))


def test_a_table_without_a_header_or_rows_is_not_a_form():
    with pytest.raises(fi.FormNotRecognised, match="Chỉ tiêu"):
        fi.propose(fi.SourceTable("t", [["1", "Lúa", "ha", "10"]]), LIBRARY, OPTIONS)
    with pytest.raises(fi.FormNotRecognised, match="không có dòng"):
        fi.propose(fi.SourceTable("t", [["STT", "Chỉ tiêu", "Đơn vị tính", "Thực hiện"], ["", "", "", ""]]), LIBRARY, OPTIONS)


@pytest.mark.parametrize("text, value", [("1.234,5", "1234.5"), ("1,234.5", "1234.5"), ("1.234", "1234"), ("12,5", "12.5"),
                                         ("95%", "95"), ("", None), ("abc", None), ("-3", "-3")])
def test_numbers_as_forms_write_them(text, value):
    got = fi.parse_number(text)
    assert (str(got) if got is not None else None) == value


def test_a_table_of_more_rows_than_a_form_has_is_refused_before_matching():
    rows = [["STT", "Chỉ tiêu", "Đơn vị tính", "Thực hiện"]] + [[str(i), f"Chỉ tiêu số {i}", "người", "1"] for i in range(1, 602)]
    with pytest.raises(fi.FormNotRecognised, match="quá 500 dòng"):
        fi.propose(fi.SourceTable("t", rows), LIBRARY, OPTIONS)
