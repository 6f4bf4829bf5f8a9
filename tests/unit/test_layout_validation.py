"""The grid a form becomes, computed cells, and every kind of check on a report's values."""
from decimal import Decimal
from pathlib import Path

import pytest

from app.adapters.catalogue_files import read_catalogue_tree
from app.domain.catalogue_build import build_catalogue
from app.domain.layout import Entry, Layout, system_values
from app.domain.validation import blocking, check, read_entries

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cat():
    problems = []
    disaggs, indicators, regimes = read_catalogue_tree(ROOT, problems)
    catalogue, more = build_catalogue(disaggs, indicators, regimes)
    assert not problems and not more
    return catalogue


def layout(cat, code):
    return Layout(cat.regimes[code], cat)


def retail_inputs(lay, **override):
    values = {k: (str(10 + i), False, "") for i, k in enumerate(lay.input_keys)}
    values[("BL_HH_07_XD", "")] = ("5", False, "")
    for code, v in override.items():
        values[(code, "")] = v if isinstance(v, tuple) else (v, False, "")
    return values


def entries(lay, raw):
    parsed, findings = read_entries(lay, raw)
    assert not findings, findings
    return parsed


def test_cells_know_what_is_typed_and_what_is_computed(cat):
    retail = layout(cat, "BCT-BANLE")
    kinds = {k[0]: c.kind for k, c in retail.cells.items()}
    assert kinds["BL_TONG"] == kinds["BL_HH"] == kinds["BL_DV"] == "children"
    assert kinds["BL_HH_07"] == "input"  # its only child is a "Trong đó" row, which is not summed
    assert kinds["BL_HH_07_XD"] == "input"
    assert [(c.key, c.label) for c in retail.forms[0].columns] == [("", "Thực hiện kỳ này")]
    tthc = layout(cat, "VPCP-TTHC")
    assert tthc.cells[("TTHC_TYLE_DUNGHAN", "")].kind == "ratio"
    civil = layout(cat, "BNV-CBCC")
    assert [c.key for c in civil.forms[0].columns] == ["", "GIOI_TINH=NAM", "GIOI_TINH=NU"]
    assert civil.cells[("CBCC_CONGCHUC", "")].kind == "options"
    assert civil.cells[("CBCC_CONGCHUC", "GIOI_TINH=NU")].kind == "input"
    assert civil.cells[("CBCC_TUOI_BQ", "")].kind == "input"  # an average is not the sum of its breakdown


def test_totals_ratios_and_breakdowns_are_computed(cat):
    retail = layout(cat, "BCT-BANLE")
    raw = retail_inputs(retail)
    full = retail.complete({k: Decimal(v[0]) for k, v in raw.items()})
    hh = sum(Decimal(raw[(f"BL_HH_{i:02d}", "")][0]) for i in range(1, 13))
    assert full[("BL_HH", "")] == hh
    assert full[("BL_TONG", "")] == full[("BL_HH", "")] + full[("BL_DV", "")] + full[("BL_LT", "")]
    partial = retail.complete({("BL_DV_01", ""): Decimal(7)})
    assert partial[("BL_DV", "")] == 7 and partial[("BL_LT", "")] is None

    tthc = layout(cat, "VPCP-TTHC")
    full = tthc.complete({("TTHC_DAGQ_TRUOCHAN", ""): Decimal(30), ("TTHC_DAGQ_DUNGHAN", ""): Decimal(50),
                          ("TTHC_DAGQ_QUAHAN", ""): Decimal(20)})
    assert full[("TTHC_DAGQ_TONG", "")] == 100
    assert full[("TTHC_TYLE_DUNGHAN", "")] == 80
    assert tthc.complete({("TTHC_DAGQ_QUAHAN", ""): Decimal(0)})[("TTHC_TYLE_DUNGHAN", "")] is None  # 0/0

    civil = layout(cat, "BNV-CBCC")
    full = civil.complete({("CBCC_CONGCHUC", "GIOI_TINH=NAM"): Decimal(60), ("CBCC_CONGCHUC", "GIOI_TINH=NU"): Decimal(40)})
    assert full[("CBCC_CONGCHUC", "")] == 100


def test_bad_values_are_each_located(cat):
    retail = layout(cat, "BCT-BANLE")
    raw = {("BL_HH_01", ""): ("abc", False, ""), ("BL_HH_02", ""): ("-5", False, ""),
           ("NOPE", ""): ("1", False, ""), ("BL_HH_03", ""): ("1,234,567", False, "")}
    _, findings = read_entries(retail, raw, where=lambda k: f"cell:{k[0]}")
    by = {f.indicator: f for f in findings}
    assert by["BL_HH_01"].code == "not_a_number" and by["BL_HH_01"].where == "cell:BL_HH_01"
    assert by["BL_HH_02"].code == "below_min" and "nhỏ hơn mức tối thiểu 0" in by["BL_HH_02"].message
    assert by["NOPE"].code == "unknown_cell"
    assert "kiểu Anh" in by["BL_HH_03"].message
    assert all(f.severity == "error" for f in findings)


def test_integer_and_range_checks(cat):
    civil = layout(cat, "BNV-CBCC")
    _, findings = read_entries(civil, {("CBCC_CONGCHUC", "GIOI_TINH=NAM"): ("12,5", False, ""),
                                       ("CBCC_TUOI_BQ", ""): ("75", False, "")})
    codes = {f.indicator: f.code for f in findings}
    assert codes == {"CBCC_CONGCHUC": "not_integer", "CBCC_TUOI_BQ": "above_max"}


def test_missing_cells_warn_in_a_draft_and_block_submission(cat):
    retail = layout(cat, "BCT-BANLE")
    some = entries(retail, {("BL_HH_01", ""): ("5", False, "")})
    draft = check(retail, some, submitting=False)
    assert any(f.code == "required" and f.severity == "warning" for f in draft)
    assert blocking(draft, submitting=False) == []
    final = check(retail, some, submitting=True)
    assert any(f.code == "required" for f in blocking(final, submitting=True))
    complete = check(retail, entries(retail, retail_inputs(retail)), submitting=True)
    assert blocking(complete, submitting=True) == []


def test_rules_are_checked_with_their_severity(cat):
    retail = layout(cat, "BCT-BANLE")
    bad = entries(retail, retail_inputs(retail, BL_HH_07_XD="999"))
    found = [f for f in check(retail, bad, submitting=True) if f.code == "rule"]
    assert len(found) == 1 and found[0].indicator == "BL_HH_07_XD" and "xe đạp" in found[0].message
    assert found[0].severity == "error"

    civil = layout(cat, "BNV-CBCC")
    raw = {(c, k): ("40" if c == "CBCC_TUOI_BQ" else "10", False, "") for c, k in civil.input_keys}
    raw[("CBCC_DTTS", "GIOI_TINH=NU")] = ("500", False, "")
    found = [f for f in check(civil, entries(civil, raw), submitting=True) if f.code == "rule"]
    # the rule fails in the "Nữ" column and in the total, and is a warning (explain, not block)
    assert {f.key for f in found} == {"GIOI_TINH=NU", ""}
    assert all(f.severity == "warning" and not f.explained for f in found)
    raw[("CBCC_DTTS", "")] = (None, False, "Tính cả người hợp đồng")
    explained = [f for f in check(civil, entries(civil, raw), submitting=True) if f.code == "rule"]
    assert all(f.explained for f in explained)
    assert not blocking(explained, submitting=True)


def test_large_moves_from_the_previous_period_need_an_explanation(cat):
    retail = layout(cat, "BCT-BANLE")
    now = entries(retail, retail_inputs(retail, BL_HH_01="200"))
    previous = retail.complete({k: e.value for k, e in entries(retail, retail_inputs(retail, BL_HH_01="100")).items()})
    moves = [f for f in check(retail, now, submitting=True, previous=previous) if f.code == "change"]
    assert [f.indicator for f in moves] == ["BL_HH_01"]
    assert "tăng 100,0% so với kỳ trước" in moves[0].message and "ngưỡng 50%" in moves[0].message
    assert blocking(moves, submitting=True) == moves
    explained = entries(retail, retail_inputs(retail, BL_HH_01=("200", False, "Khai trương trung tâm thương mại")))
    moves = [f for f in check(retail, explained, submitting=True, previous=previous) if f.code == "change"]
    assert moves and all(f.explained for f in moves) and not blocking(moves, submitting=True)
    within = entries(retail, retail_inputs(retail, BL_HH_01="140"))
    assert not [f for f in check(retail, within, submitting=True, previous=previous) if f.code == "change"]


def test_a_given_total_must_agree_with_its_parts(cat):
    retail = layout(cat, "BCT-BANLE")
    raw = retail_inputs(retail)
    raw[("BL_LT", "")] = ("1", False, "")
    found = [f for f in check(retail, entries(retail, raw), submitting=False) if f.code == "computed_mismatch"]
    assert len(found) == 1 and "tổng các dòng thành phần" in found[0].message
    assert blocking(found, submitting=False) == found  # even a draft refuses a contradiction


def test_system_columns(cat):
    retail = layout(cat, "BCT-BANLE")
    cur = {("BL_HH_01", ""): Decimal(110)}
    out = system_values(retail, cur, previous={("BL_HH_01", ""): Decimal(100)}, last_year={("BL_HH_01", ""): Decimal(50)},
                        earlier_this_year=[{("BL_HH_01", ""): Decimal(90)}, {("BL_HH_01", ""): Decimal(100)}, {}])
    assert out["previous"]["BL_HH_01"] == 100
    assert out["pct_previous"]["BL_HH_01"] == 110
    assert out["pct_same_period_last_year"]["BL_HH_01"] == 220
    assert out["cumulative"]["BL_HH_01"] == 300
    assert out["pct_previous"]["BL_HH_02"] is None  # nothing to compare with


def test_an_estimate_stays_an_entry_attribute(cat):
    retail = layout(cat, "BCT-BANLE")
    parsed = entries(retail, {("BL_HH_01", ""): ("5", True, "")})
    assert parsed[("BL_HH_01", "")] == Entry(Decimal(5), True, "")


def test_an_of_which_row_is_labelled_once():
    from app.domain.catalogue import FormRow, IndicatorDef
    from app.domain.layout import Line

    def line(name, of_which=True):
        ind = IndicatorDef.__new__(IndicatorDef)
        object.__setattr__(ind, "name_vi", name)
        row = FormRow.__new__(FormRow)
        object.__setattr__(row, "of_which", of_which)
        return Line(row, ind, 1, ())

    assert line("Xe đạp").label == "Trong đó: Xe đạp"
    assert line("Trong đó: xe đạp").label == "Trong đó: xe đạp"  # not "Trong đó: Trong đó: xe đạp"
    assert line("trong đó xe máy").label == "trong đó xe máy"
    assert line("Xe đạp", of_which=False).label == "Xe đạp"
