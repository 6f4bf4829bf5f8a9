"""Catalogue files: every problem names its file and line; the shipped catalogue is valid."""
from pathlib import Path

from app.adapters.catalogue_files import read_catalogue_tree
from app.domain.catalogue_build import build_catalogue, regime_from_snapshot, snapshot_hash

ROOT = Path(__file__).resolve().parents[2]

INDICATORS = """\
indicators:
  - code: A
    name_vi: Tổng
    unit: người
  - code: B
    name_vi: Thành phần B
    unit: người
  - code: C
    name_vi: Thành phần C
    unit: người
"""

REGIME = """\
code: TEST-THANG
name_vi: Báo cáo thử
type: periodic
frequency: monthly
issuing_agency: BCT
legal_basis: Thông tư thử
valid_from: 2026-01-01
content: Nội dung
content_kind: data
sending_methods: [system]
tiers:
  - name: Sở gửi Bộ
    reporters: {levels: [department]}
    receiver: BCT
    deadline: {rule: day_of_month, day: 17}
forms: [B1]
"""

FORM = """\
code: B1
title: Biểu 1
rows:
  - {indicator: A, row: "1"}
  - {indicator: B, row: "1.1", parent: A}
  - {indicator: C, row: "1.2", parent: A}
rules:
  - {check: "A = B + C"}
"""


def write_tree(tmp_path: Path, indicators=INDICATORS, regime=REGIME, form=FORM) -> Path:
    (tmp_path / "indicators").mkdir(parents=True)
    (tmp_path / "indicators" / "test.yaml").write_text(indicators, encoding="utf-8")
    (tmp_path / "indicators" / "disaggregations.yaml").write_text("disaggregations: []\n", encoding="utf-8")
    folder = tmp_path / "report_templates" / "TEST-THANG"
    (folder / "forms").mkdir(parents=True)
    (folder / "regime.yaml").write_text(regime, encoding="utf-8")
    (folder / "forms" / "B1.yaml").write_text(form, encoding="utf-8")
    return tmp_path


def check(root: Path):
    problems = []
    tree = read_catalogue_tree(root, problems)
    catalogue, more = build_catalogue(*tree)
    return catalogue, problems + more


def test_the_shipped_catalogue_is_valid_and_has_the_three_required_regimes():
    catalogue, problems = check(ROOT)
    assert problems == []
    frequencies = {r.frequency.value for r in catalogue.regimes.values()}
    assert {"monthly", "quarterly", "annual"} <= frequencies
    assert any(f.disaggregations for r in catalogue.regimes.values() for f in r.forms)
    ratio = [i for i in catalogue.indicators.values() if i.aggregation == "ratio"]
    assert ratio and all(i.numerator and i.denominator for i in ratio)
    assert any(len(r.tiers) > 1 for r in catalogue.regimes.values())


def test_a_valid_minimal_tree_reads_cleanly(tmp_path):
    catalogue, problems = check(write_tree(tmp_path))
    assert problems == []
    assert catalogue.regimes["TEST-THANG"].forms[0].is_total("A")


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    _, problems = check(write_tree(tmp_path, form=FORM.replace('row: "1.1"', 'row: "1.1')))
    assert [(p.file.endswith("forms/B1.yaml"), p.line in (5, 6), "YAML" in p.message) for p in problems] == [(True, True, True)]


def test_missing_required_element_names_it(tmp_path):
    _, problems = check(write_tree(tmp_path, regime=REGIME.replace("legal_basis: Thông tư thử\n", "")))
    assert any("Căn cứ pháp lý" in p.message and "legal_basis" in str(p) and p.file.endswith("regime.yaml") for p in problems)


def test_unknown_indicator_in_a_form_names_the_line(tmp_path):
    form = FORM.replace("{indicator: C,", "{indicator: ZZ,").replace("A = B + C", "A = B + ZZ")
    _, problems = check(write_tree(tmp_path, form=form))
    lines = {(p.line, "ZZ" in p.message) for p in problems}
    assert (6, True) in lines


def test_duplicate_indicator_code_points_at_both_places(tmp_path):
    dup = INDICATORS + "  - code: A\n    name_vi: Trùng\n    unit: người\n"
    _, problems = check(write_tree(tmp_path, indicators=dup))
    p = next(p for p in problems if "bị trùng" in p.message)
    assert p.line == 11 and "test.yaml:2" in p.message


def test_deadline_less_than_one_working_day_after_cutoff_is_refused(tmp_path):
    regime = REGIME.replace("deadline: {rule: day_of_month, day: 17}", "deadline: {rule: days_after, days: 0}")
    _, problems = check(write_tree(tmp_path, regime=regime))
    p = next(p for p in problems if "ít nhất 1 ngày làm việc" in p.message)
    assert p.file.endswith("regime.yaml") and p.line == 15


def test_deadline_on_day_14_same_as_cutoff_is_refused(tmp_path):
    regime = REGIME.replace("day: 17}", "day: 14}")
    _, problems = check(write_tree(tmp_path, regime=regime))
    assert any("ít nhất 1 ngày làm việc" in p.message for p in problems)


def two_tiers(first_day: int, second_day: int, guidance: bool = True) -> str:
    regime = REGIME.replace("forms: [B1]", "process_guidance: Hướng dẫn\nforms: [B1]") if guidance else REGIME
    return regime.replace(
        "    deadline: {rule: day_of_month, day: 17}\n",
        f"    deadline: {{rule: day_of_month, day: {first_day}}}\n  - name: Bộ gửi Chính phủ\n"
        f"    reporters: {{levels: [ministry]}}\n    receiver: VPCP\n    deadline: {{rule: day_of_month, day: {second_day}}}\n")


def test_tiers_must_not_be_due_before_the_tier_below(tmp_path):
    _, problems = check(write_tree(tmp_path, regime=two_tiers(20, 17)))
    assert any("sớm hơn cấp trước" in p.message for p in problems)


def test_multi_tier_regime_needs_process_guidance(tmp_path):
    _, clean = check(write_tree(tmp_path / "a", regime=two_tiers(17, 20)))
    _, problems = check(write_tree(tmp_path / "b", regime=two_tiers(17, 20, guidance=False)))
    assert clean == [] and any("process_guidance" in p.message for p in problems)


def test_unknown_field_is_reported_not_ignored(tmp_path):
    _, problems = check(write_tree(tmp_path, regime=REGIME + "frequncy: monthly\n"))
    assert any("frequncy" in p.message and p.line == 17 for p in problems)


def test_bad_rule_syntax_is_reported_with_line(tmp_path):
    _, problems = check(write_tree(tmp_path, form=FORM.replace("A = B + C", "A = B +")))
    assert any(p.line == 8 and "Quy tắc" in p.message for p in problems)


def test_snapshot_round_trip_rebuilds_the_same_regime(tmp_path):
    catalogue, _ = check(write_tree(tmp_path))
    snap = catalogue.snapshots["TEST-THANG"]
    regime, cat = regime_from_snapshot(snap)
    assert regime == catalogue.regimes["TEST-THANG"]
    assert set(cat.indicators) == {"A", "B", "C"}
    assert len(snapshot_hash(snap)) == 64
