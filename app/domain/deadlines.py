"""Deadline rules (thời hạn gửi báo cáo, Art. 8(5)): one per tier of a regime.

A rule is one of: day d of the month in which the cut-off ends (or of the next month); n calendar
days after the cut-off; n working days after the cut-off; a fixed date relative to the period's
year. A deadline on a non-working day moves (configurably) and says why.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from .errors import DomainError
from .periods import _add_months, _safe_date
from .workdays import DEFAULT_CALENDAR, WorkingCalendar

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class DeadlineKind(str, Enum):
    DAY_OF_MONTH = "day_of_month"
    DAYS_AFTER = "days_after"
    WORKING_DAYS_AFTER = "working_days_after"
    FIXED_DATE = "fixed_date"


class HolidayShift(str, Enum):
    NEXT_WORKING_DAY = "next_working_day"
    PREVIOUS_WORKING_DAY = "previous_working_day"
    NONE = "none"


@dataclass(frozen=True)
class DeadlineRule:
    kind: DeadlineKind
    day: int = 0  # day_of_month / fixed_date: day of month
    month_offset: int = 0  # day_of_month: 0 = month the cut-off ends in, 1 = the next month
    days: int = 0  # days_after / working_days_after
    month: int = 0  # fixed_date: month
    year_offset: int = 0  # fixed_date: 0 = the period's year, 1 = the next year
    shift: HolidayShift = HolidayShift.NEXT_WORKING_DAY
    at: time = time(23, 59, 59)  # a deadline is the end of the deadline day unless told

    def describe_vi(self) -> str:
        if self.kind is DeadlineKind.DAY_OF_MONTH:
            which = "tháng kết thúc kỳ chốt số liệu" if self.month_offset == 0 else "tháng sau"
            return f"Ngày {self.day} của {which}"
        if self.kind is DeadlineKind.DAYS_AFTER:
            return f"{self.days} ngày sau khi chốt số liệu"
        if self.kind is DeadlineKind.WORKING_DAYS_AFTER:
            return f"{self.days} ngày làm việc sau khi chốt số liệu"
        year = "năm báo cáo" if self.year_offset == 0 else f"năm báo cáo + {self.year_offset}"
        return f"Ngày {self.day:02d}/{self.month:02d} {year}"


@dataclass(frozen=True)
class Deadline:
    nominal: date  # what the rule says
    due: date  # after moving off a non-working day
    at: datetime  # timezone-aware (Asia/Ho_Chi_Minh)
    moved_because: str | None  # e.g. "Chủ nhật" or "Tết Nguyên Đán"

    @property
    def moved(self) -> bool:
        return self.due != self.nominal


def nominal_date(rule: DeadlineRule, cutoff_end: date, period_year: int, cal: WorkingCalendar) -> date:
    if rule.kind is DeadlineKind.DAY_OF_MONTH:
        y, m = _add_months(cutoff_end.year, cutoff_end.month, rule.month_offset)
        return _safe_date(y, m, rule.day)
    if rule.kind is DeadlineKind.DAYS_AFTER:
        return cutoff_end + timedelta(days=rule.days)
    if rule.kind is DeadlineKind.WORKING_DAYS_AFTER:
        return cal.add_working_days(cutoff_end, rule.days)
    if rule.kind is DeadlineKind.FIXED_DATE:
        return _safe_date(period_year + rule.year_offset, rule.month, rule.day)
    raise DomainError(f"Quy tắc thời hạn không hỗ trợ: {rule.kind}")


def compute_deadline(
    rule: DeadlineRule, cutoff_end: date, period_year: int, cal: WorkingCalendar = DEFAULT_CALENDAR
) -> Deadline:
    """The deadline for a period whose cut-off ends on `cutoff_end`."""
    nominal = nominal_date(rule, cutoff_end, period_year, cal)
    due, reason = nominal, cal.reason_off(nominal)
    if reason and rule.shift is HolidayShift.NEXT_WORKING_DAY:
        due = cal.next_working_day(nominal)
    elif reason and rule.shift is HolidayShift.PREVIOUS_WORKING_DAY:
        due = cal.previous_working_day(nominal)
    moved_because = reason if due != nominal else None
    return Deadline(nominal, due, datetime.combine(due, rule.at, tzinfo=VN_TZ), moved_because)


def leaves_a_working_day(deadline: Deadline, cutoff_end: date, cal: WorkingCalendar = DEFAULT_CALENDAR) -> bool:
    """Art. 8(5): at least one working day between the end of the cut-off and the deadline."""
    return cal.working_days_between(cutoff_end, deadline.due) >= 1
