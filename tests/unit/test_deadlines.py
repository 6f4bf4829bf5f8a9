"""Deadline rules (Art. 8(5)) and the Vietnamese working-day calendar."""
from datetime import date, time

import pytest

from app.domain.deadlines import DeadlineKind, DeadlineRule, HolidayShift, compute_deadline, leaves_a_working_day
from app.domain.workdays import WorkingCalendar

CAL = WorkingCalendar()


def day_of_month(day, **kw):
    return DeadlineRule(DeadlineKind.DAY_OF_MONTH, day=day, **kw)


def test_day_17_of_the_cutoff_month_on_a_weekday_stays():
    d = compute_deadline(day_of_month(17), date(2026, 11, 14), 2026)
    assert d.due == date(2026, 11, 17) and not d.moved and d.moved_because is None


def test_deadline_on_a_saturday_moves_to_monday_and_says_why():
    d = compute_deadline(day_of_month(17), date(2026, 1, 14), 2026)
    assert (d.nominal, d.due, d.moved_because) == (date(2026, 1, 17), date(2026, 1, 19), "Thứ Bảy")


def test_deadline_in_tet_2026_moves_past_the_whole_holiday():
    # Tết Bính Ngọ: 16–20/02/2026, then the weekend; first working day is Monday 23/02.
    d = compute_deadline(day_of_month(17), date(2026, 2, 14), 2026)
    assert d.due == date(2026, 2, 23)
    assert "Tết" in d.moved_because


def test_shift_can_be_turned_off_or_moved_earlier():
    off = compute_deadline(day_of_month(17, shift=HolidayShift.NONE), date(2026, 1, 14), 2026)
    earlier = compute_deadline(day_of_month(17, shift=HolidayShift.PREVIOUS_WORKING_DAY), date(2026, 1, 14), 2026)
    assert off.due == date(2026, 1, 17) and earlier.due == date(2026, 1, 16)


def test_day_of_next_month_and_short_months_clamp():
    d = compute_deadline(day_of_month(31, month_offset=1), date(2026, 1, 14), 2026)
    assert d.nominal == date(2026, 2, 28)


def test_n_calendar_days_after_the_cutoff():
    d = compute_deadline(DeadlineRule(DeadlineKind.DAYS_AFTER, days=15), date(2026, 3, 31), 2026)
    assert d.nominal == date(2026, 4, 15)


def test_working_days_after_skip_tet():
    # Cut-off 13/02/2026 (Friday): the 2nd working day after it is Tuesday 24/02 (Tết and weekends skipped).
    d = compute_deadline(DeadlineRule(DeadlineKind.WORKING_DAYS_AFTER, days=2), date(2026, 2, 13), 2026)
    assert d.due == date(2026, 2, 24) and not d.moved


def test_fixed_date_in_the_next_year_annual_by_31_march():
    rule = DeadlineRule(DeadlineKind.FIXED_DATE, day=31, month=3, year_offset=1)
    d = compute_deadline(rule, date(2026, 12, 31), 2026)
    assert d.nominal == date(2027, 3, 31) and d.due == date(2027, 3, 31)


def test_deadline_is_timezone_aware_in_ho_chi_minh_time():
    d = compute_deadline(day_of_month(17, at=time(17, 0)), date(2026, 11, 14), 2026)
    assert d.at.isoformat() == "2026-11-17T17:00:00+07:00"


def test_a_deadline_on_the_cutoff_day_leaves_no_working_day():
    d = compute_deadline(DeadlineRule(DeadlineKind.DAYS_AFTER, days=0), date(2026, 11, 16), 2026)
    assert not leaves_a_working_day(d, date(2026, 11, 16))


def test_a_deadline_the_day_after_a_friday_cutoff_with_no_shift_leaves_no_working_day():
    d = compute_deadline(DeadlineRule(DeadlineKind.DAYS_AFTER, days=1, shift=HolidayShift.NONE), date(2026, 11, 13), 2026)
    assert not leaves_a_working_day(d, date(2026, 11, 13))


@pytest.mark.parametrize("day, worked", [
    (date(2026, 2, 17), False),  # Tết Nguyên Đán
    (date(2026, 4, 30), False),  # Ngày Chiến thắng
    (date(2026, 9, 2), False),  # Quốc khánh
    (date(2026, 8, 22), True),  # a Saturday worked in exchange for 31/08
    (date(2026, 8, 31), False),  # the compensatory day off
    (date(2026, 11, 23), True),
    (date(2026, 11, 22), False),  # Sunday
])
def test_working_days(day, worked):
    assert CAL.is_working_day(day) is worked


def test_operator_can_add_a_day_off_the_package_does_not_know():
    cal = WorkingCalendar(extra_days_off={date(2026, 11, 23): "Nghỉ theo quyết định của tỉnh"})
    d = compute_deadline(day_of_month(23), date(2026, 11, 14), 2026, cal)
    assert d.due == date(2026, 11, 25) and d.moved_because == "Nghỉ theo quyết định của tỉnh"
