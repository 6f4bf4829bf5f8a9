"""The Vietnamese working-day calendar: weekends, public holidays (Tết by the lunar calendar),
compensatory days off and the Saturdays worked in exchange, from the `holidays` package."""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

WEEKDAY_VI = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"]


class WorkingCalendar:
    """Answers whether a day is worked and why not. Extra days off / workdays can be added by
    an operator when the Government announces a change the package does not know yet."""

    def __init__(self, extra_days_off: dict[date, str] | None = None, extra_workdays: set[date] | None = None):
        self._extra_off = dict(extra_days_off or {})
        self._extra_work = set(extra_workdays or ())

    def reason_off(self, day: date) -> str | None:
        """Why `day` is not a working day (holiday name or weekday), or None when it is worked."""
        if day in self._extra_work:
            return None
        if day in self._extra_off:
            return self._extra_off[day]
        table = _vn_holidays(day.year)
        if day in table:
            return table.get(day)
        if day.weekday() >= 5 and day not in table.weekend_workdays:
            return WEEKDAY_VI[day.weekday()]
        return None

    def is_working_day(self, day: date) -> bool:
        return self.reason_off(day) is None

    def next_working_day(self, day: date) -> date:
        """`day` itself when worked, else the first working day after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def previous_working_day(self, day: date) -> date:
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day strictly after `day` (n >= 1)."""
        while n > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return day

    def working_days_between(self, after: date, until: date) -> int:
        """Working days in (after, until]."""
        count, day = 0, after
        while day < until:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count


@lru_cache(maxsize=64)
def _vn_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=[year], language="vi")


DEFAULT_CALENDAR = WorkingCalendar()
