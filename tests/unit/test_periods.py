"""Period keys and Decree-09 cut-off windows, pinned to the dates in docs/spec (decree09.md §3)."""
from datetime import date

import pytest

from app.domain.errors import UnknownPeriod
from app.domain.periods import CutoffKind, CutoffRule, Frequency, Period, periods_between

CAL = CutoffRule(CutoffKind.CALENDAR)


@pytest.mark.parametrize("key, start, end", [
    ("2026-M01", date(2025, 12, 15), date(2026, 1, 14)),
    ("2026-M11", date(2026, 10, 15), date(2026, 11, 14)),
    ("2026-Q1", date(2025, 12, 15), date(2026, 3, 14)),
    ("2026-Q4", date(2026, 9, 15), date(2026, 12, 14)),
    ("2026-S1", date(2025, 12, 15), date(2026, 6, 14)),
    ("2026-S2", date(2026, 6, 15), date(2026, 12, 14)),
    ("2026-9M", date(2025, 12, 15), date(2026, 9, 14)),
    ("2026", date(2025, 12, 15), date(2026, 12, 14)),
])
def test_decree09_cutoff_windows_match_the_spec(key, start, end):
    assert Period.parse(key).cutoff() == (start, end)


def test_monthly_window_of_march_in_a_leap_year_starts_on_15_february():
    assert Period.parse("2028-M03").cutoff() == (date(2028, 2, 15), date(2028, 3, 14))


@pytest.mark.parametrize("key, start, end", [
    ("2026-M02", date(2026, 2, 1), date(2026, 2, 28)),
    ("2028-M02", date(2028, 2, 1), date(2028, 2, 29)),
    ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
    ("2026-S1", date(2026, 1, 1), date(2026, 6, 30)),
    ("2026-9M", date(2026, 1, 1), date(2026, 9, 30)),
    ("2026", date(2026, 1, 1), date(2026, 12, 31)),
])
def test_calendar_windows_run_from_the_first_to_the_last_day(key, start, end):
    assert Period.parse(key).cutoff(CAL) == (start, end)


def test_weekly_window_runs_thursday_to_wednesday_keyed_by_the_iso_week_of_the_wednesday():
    start, end = Period.parse("2026-W47").cutoff()
    assert (start, end) == (date(2026, 11, 12), date(2026, 11, 18))
    assert start.weekday() == 3 and end.weekday() == 2


def test_weekly_calendar_window_is_monday_to_sunday():
    assert Period.parse("2026-W01").cutoff(CAL) == (date(2025, 12, 29), date(2026, 1, 4))


def test_custom_annual_window_from_15_march_of_the_previous_year():
    rule = CutoffRule(CutoffKind.CUSTOM_ANNUAL, anchor_day=15, start_month=3)
    assert Period.parse("2026").cutoff(rule) == (date(2025, 3, 15), date(2026, 3, 14))


def test_custom_annual_window_refuses_a_monthly_period():
    with pytest.raises(UnknownPeriod):
        Period.parse("2026-M01").cutoff(CutoffRule(CutoffKind.CUSTOM_ANNUAL, start_month=3))


def test_anchor_day_is_configurable_for_the_decree09_rule():
    assert Period.parse("2026-M11").cutoff(CutoffRule(anchor_day=20)) == (date(2026, 10, 20), date(2026, 11, 19))


@pytest.mark.parametrize("alias, canonical", [
    ("2026-11", "2026-M11"), ("2026-A1", "2026"), (" 2026-q4 ", "2026-Q4"), ("2026-M1", "2026-M01"), ("2026-W7", "2026-W07"),
])
def test_aliases_parse_to_canonical_keys(alias, canonical):
    assert Period.parse(alias).key == canonical


@pytest.mark.parametrize("key", ["2026-M13", "2026-M00", "2026-Q5", "2026-S3", "2026-W54", "2021-W53x", "", "abc",
                                 "26-M01", "2026-H1", "2026-M1a"])
def test_bad_keys_are_refused_with_a_message_naming_the_key(key):
    with pytest.raises(UnknownPeriod) as exc:
        Period.parse(key)
    assert "Mã kỳ" in str(exc.value)


def test_week_53_exists_only_in_long_iso_years():
    assert Period.parse("2026-W53").key == "2026-W53"
    with pytest.raises(UnknownPeriod):
        Period.parse("2025-W53")


def test_previous_and_next_cross_year_boundaries():
    assert Period.parse("2026-M01").previous().key == "2025-M12"
    assert Period.parse("2026-Q4").next().key == "2027-Q1"
    assert Period.parse("2026-W01").previous().key == "2025-W52"
    assert Period.parse("2026").previous().key == "2025"
    assert Period.parse("2026-M11").same_period_last_year().key == "2025-M11"


def test_periods_between_lists_periods_whose_window_ends_in_range():
    keys = [p.key for p in periods_between(Frequency.MONTHLY, date(2026, 1, 1), date(2026, 3, 31))]
    assert keys == ["2026-M01", "2026-M02", "2026-M03"]
    quarters = periods_between(Frequency.QUARTERLY, date(2025, 12, 15), date(2026, 12, 31))
    assert [p.key for p in quarters] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]


def test_a_december_day_after_the_14th_already_belongs_to_next_year():
    annual = periods_between(Frequency.ANNUAL, date(2025, 12, 15), date(2026, 12, 14))
    assert [p.key for p in annual] == ["2026"]


def test_ad_hoc_period_carries_its_own_code_and_window():
    p = Period.ad_hoc("DX-2026-01", date(2026, 11, 1), date(2026, 11, 20))
    assert p.key == "DX-2026-01" and p.cutoff() == (date(2026, 11, 1), date(2026, 11, 20))
    with pytest.raises(UnknownPeriod):
        Period.ad_hoc("DX", date(2026, 11, 20), date(2026, 11, 1))


def test_labels_are_vietnamese():
    assert Period.parse("2026-Q4").label_vi == "Quý IV/2026"
    assert Period.parse("2026-M11").label_vi == "Tháng 11/2026"
    assert Period.parse("2026-S1").label_vi == "6 tháng đầu năm 2026"
