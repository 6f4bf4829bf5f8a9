"""The `holidays` package decides every deadline shift; it is pinned in requirements.txt and this test
pins the key dates of the Vietnamese calendar, so an upgrade that moves one of them fails loudly."""
from __future__ import annotations

from datetime import date

import pytest

from app.domain.workdays import WorkingCalendar

CAL = WorkingCalendar()


@pytest.mark.parametrize("day", [
    date(2026, 1, 1),  # Tết Dương lịch
    *[date(2026, 2, d) for d in range(16, 21)],  # Tết Nguyên đán Bính Ngọ: 30 tháng Chạp → mùng 4
    date(2026, 4, 27),  # Giỗ Tổ Hùng Vương (10/3 âm lịch, 26/4 is a Sunday: observed on Monday)
    date(2026, 4, 30), date(2026, 5, 1),  # 30/4 and 1/5
    date(2026, 9, 1), date(2026, 9, 2),  # Quốc khánh
    date(2026, 11, 24),  # Ngày Văn hóa Việt Nam
])
def test_public_holidays_are_days_off(day):
    assert not CAL.is_working_day(day), f"{day} should be a day off: {CAL.reason_off(day)}"
    assert CAL.reason_off(day)


@pytest.mark.parametrize("day", [date(2026, 2, 13), date(2026, 2, 23), date(2026, 5, 4), date(2026, 9, 3), date(2026, 11, 25)])
def test_the_working_days_around_them_stay_working_days(day):
    assert CAL.is_working_day(day), CAL.reason_off(day)


def test_tet_2027_is_known_too():
    """Deadlines a year ahead are computed today: Tết Đinh Mùi falls on 6 February 2027."""
    assert not CAL.is_working_day(date(2027, 2, 8)) and not CAL.is_working_day(date(2027, 2, 9))
