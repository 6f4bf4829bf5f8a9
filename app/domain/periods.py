"""Reporting periods (kỳ báo cáo) and their data cut-off windows (thời gian chốt số liệu).

A period is (frequency, year, index) with explicit dates: under Decree 09 the year 2026 starts on
15/12/2025, so a period can never be derived from a calendar date alone.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import Enum

from .errors import UnknownPeriod


class Frequency(str, Enum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SEMIANNUAL = "semiannual"
    NINE_MONTH = "nine_month"
    ANNUAL = "annual"
    AD_HOC = "ad_hoc"  # thematic and ad hoc requests: own code and explicit window

    @property
    def name_vi(self) -> str:
        return {"weekly": "hằng tuần", "monthly": "hằng tháng", "quarterly": "hằng quý", "semiannual": "6 tháng",
                "nine_month": "9 tháng", "annual": "hằng năm", "ad_hoc": "đột xuất, chuyên đề"}[self.value]

    @property
    def periods_per_year(self) -> int:
        return {"weekly": 53, "monthly": 12, "quarterly": 4, "semiannual": 2}.get(self.value, 1)


class CutoffKind(str, Enum):
    DECREE09 = "decree09"  # Art. 12: 15th of the previous month → 14th (anchor day configurable)
    CALENDAR = "calendar"  # 1st → last day (statistics, insurance); ISO Monday → Sunday weeks
    CUSTOM_ANNUAL = "custom_annual"  # e.g. 15/3 of the previous year → 14/3


@dataclass(frozen=True)
class CutoffRule:
    """How a regime draws its data cut-off windows. All tiers of a regime share one (Art. 8(9))."""

    kind: CutoffKind = CutoffKind.DECREE09
    anchor_day: int = 15  # decree09: windows start on this day and end the day before
    start_month: int = 1  # custom_annual: the window starts on (start_month, anchor_day)

    def window(self, period: Period) -> tuple[date, date]:
        if period.frequency is Frequency.AD_HOC:
            return period.start, period.end  # type: ignore[return-value]
        if period.frequency is Frequency.WEEKLY:
            return _weekly_window(period, self.kind)
        if self.kind is CutoffKind.CUSTOM_ANNUAL:
            if period.frequency is not Frequency.ANNUAL:
                raise UnknownPeriod("Kỳ chốt số liệu tùy chỉnh chỉ áp dụng cho báo cáo năm")
            start = _safe_date(period.year - 1, self.start_month, self.anchor_day)
            return start, _safe_date(period.year, self.start_month, self.anchor_day) - timedelta(1)
        first, last = _month_span(period)
        if self.kind is CutoffKind.CALENDAR:
            return date(first[0], first[1], 1), _last_day(*last)
        # Decree 09: from the anchor day of the month before the first month to the day before
        # the anchor day of the last month.
        prev_y, prev_m = _add_months(first[0], first[1], -1)
        return (
            _safe_date(prev_y, prev_m, self.anchor_day),
            _safe_date(last[0], last[1], self.anchor_day) - timedelta(1),
        )


DECREE09 = CutoffRule()

_KEY_PATTERNS = [
    (re.compile(r"^(\d{4})-W(\d{1,2})$"), Frequency.WEEKLY),
    (re.compile(r"^(\d{4})-M(\d{1,2})$"), Frequency.MONTHLY),
    (re.compile(r"^(\d{4})-(\d{1,2})$"), Frequency.MONTHLY),
    (re.compile(r"^(\d{4})-Q([1-4])$"), Frequency.QUARTERLY),
    (re.compile(r"^(\d{4})-S([12])$"), Frequency.SEMIANNUAL),
    (re.compile(r"^(\d{4})-9M$"), Frequency.NINE_MONTH),
    (re.compile(r"^(\d{4})-A1$"), Frequency.ANNUAL),
    (re.compile(r"^(\d{4})$"), Frequency.ANNUAL),
]

_LABEL_VI = {
    Frequency.WEEKLY: "Tuần {index}/{year}",
    Frequency.MONTHLY: "Tháng {index}/{year}",
    Frequency.QUARTERLY: "Quý {roman}/{year}",
    Frequency.SEMIANNUAL: "6 tháng {half} năm {year}",
    Frequency.NINE_MONTH: "9 tháng năm {year}",
    Frequency.ANNUAL: "Năm {year}",
}
_LABEL_EN = {
    Frequency.WEEKLY: "Week {index}/{year}",
    Frequency.MONTHLY: "{month} {year}",
    Frequency.QUARTERLY: "Q{index} {year}",
    Frequency.SEMIANNUAL: "H{index} {year}",
    Frequency.NINE_MONTH: "9 months {year}",
    Frequency.ANNUAL: "Year {year}",
}
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
              "December")


@dataclass(frozen=True, order=True)
class Period:
    """A reporting period: weekly, monthly, quarterly, 6-monthly, 9-monthly, annual or ad hoc."""

    frequency: Frequency
    year: int
    index: int = 1
    code: str | None = field(default=None, compare=True)  # ad hoc / thematic request code
    start: date | None = field(default=None, compare=False)  # ad hoc window only
    end: date | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not 1900 <= self.year <= 2999:
            raise UnknownPeriod(f"Năm {self.year} nằm ngoài phạm vi hợp lệ")
        if self.frequency is Frequency.AD_HOC:
            if not (self.code and self.start and self.end) or self.end < self.start:
                raise UnknownPeriod("Kỳ đột xuất/chuyên đề cần mã và khoảng thời gian hợp lệ")
            return
        top = self.frequency.periods_per_year
        if self.frequency is Frequency.WEEKLY:
            top = date(self.year, 12, 28).isocalendar()[1]
        if not 1 <= self.index <= top:
            raise UnknownPeriod(f"Kỳ {self.index} không tồn tại với báo cáo {self.frequency.name_vi}")

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def parse(cls, key: str) -> Period:
        """Parse a canonical key: 2026-W47, 2026-M11 (or 2026-11), 2026-Q4, 2026-S2, 2026-9M, 2026."""
        text = (key or "").strip().upper()
        for pattern, frequency in _KEY_PATTERNS:
            m = pattern.match(text)
            if m:
                index = int(m.group(2)) if m.lastindex and m.lastindex >= 2 else 1
                try:
                    return cls(frequency, int(m.group(1)), index)
                except UnknownPeriod as exc:
                    raise UnknownPeriod(f"Mã kỳ “{key}” không hợp lệ: {exc}") from None
        raise UnknownPeriod(
            f"Mã kỳ “{key}” không hợp lệ; dùng dạng 2026-M11, 2026-Q4, 2026-S2, 2026-9M, 2026 hoặc 2026-W47"
        )

    @classmethod
    def ad_hoc(cls, code: str, start: date, end: date) -> Period:
        return cls(Frequency.AD_HOC, end.year, 1, code=code, start=start, end=end)

    # -- identity -----------------------------------------------------------------------------
    @property
    def key(self) -> str:
        f = self.frequency
        return {
            Frequency.WEEKLY: f"{self.year}-W{self.index:02d}",
            Frequency.MONTHLY: f"{self.year}-M{self.index:02d}",
            Frequency.QUARTERLY: f"{self.year}-Q{self.index}",
            Frequency.SEMIANNUAL: f"{self.year}-S{self.index}",
            Frequency.NINE_MONTH: f"{self.year}-9M",
            Frequency.ANNUAL: f"{self.year}",
            Frequency.AD_HOC: self.code or "",
        }[f]

    @property
    def label_vi(self) -> str:
        if self.frequency is Frequency.AD_HOC:
            return f"Kỳ {self.code}"
        roman = ["I", "II", "III", "IV"][self.index - 1] if self.index <= 4 else str(self.index)
        half = "đầu" if self.index == 1 else "cuối"
        return _LABEL_VI[self.frequency].format(index=self.index, year=self.year, roman=roman, half=half)

    @property
    def label_en(self) -> str:
        if self.frequency is Frequency.AD_HOC:
            return f"Period {self.code}"
        month = _MONTHS_EN[self.index - 1] if self.frequency is Frequency.MONTHLY else ""
        return _LABEL_EN[self.frequency].format(index=self.index, year=self.year, month=month)

    def label(self, lang: str = "vi") -> str:
        return self.label_en if lang == "en" else self.label_vi

    def __str__(self) -> str:
        return self.key

    # -- arithmetic ---------------------------------------------------------------------------
    def cutoff(self, rule: CutoffRule = DECREE09) -> tuple[date, date]:
        """The data cut-off window (first day, last day), both inclusive."""
        return rule.window(self)

    def next(self) -> Period:
        return self.shift(1)

    def previous(self) -> Period:
        return self.shift(-1)

    def same_period_last_year(self) -> Period:
        if self.frequency is Frequency.WEEKLY:
            return Period(self.frequency, self.year - 1, min(self.index, _iso_weeks(self.year - 1)))
        return Period(self.frequency, self.year - 1, self.index)

    def shift(self, steps: int) -> Period:
        if self.frequency is Frequency.AD_HOC:
            raise UnknownPeriod("Kỳ đột xuất không có kỳ trước/sau")
        if self.frequency is Frequency.WEEKLY:
            monday = date.fromisocalendar(self.year, self.index, 1) + timedelta(weeks=steps)
            y, w, _ = monday.isocalendar()
            return Period(self.frequency, y, w)
        n = self.frequency.periods_per_year
        ordinal = self.year * n + (self.index - 1) + steps
        return Period(self.frequency, ordinal // n, ordinal % n + 1)


def periods_between(frequency: Frequency, first: date, last: date, rule: CutoffRule = DECREE09) -> list[Period]:
    """Every period whose cut-off window ends within [first, last], in order."""
    if frequency is Frequency.AD_HOC or last < first:
        return []
    period = _first_period_ending_on_or_after(frequency, first, rule)
    out: list[Period] = []
    while period.cutoff(rule)[1] <= last:
        out.append(period)
        period = period.next()
    return out


def _first_period_ending_on_or_after(frequency: Frequency, day: date, rule: CutoffRule) -> Period:
    if frequency is Frequency.WEEKLY:
        y, w, _ = (day - timedelta(days=7)).isocalendar()
        period = Period(frequency, y, w)
    else:
        period = Period(frequency, day.year - 1, 1)
    while period.cutoff(rule)[1] < day:
        period = period.next()
    return period


def _weekly_window(period: Period, kind: CutoffKind) -> tuple[date, date]:
    if kind is CutoffKind.CALENDAR:
        monday = date.fromisocalendar(period.year, period.index, 1)
        return monday, monday + timedelta(days=6)
    # Decree 09: Thursday of the previous week → Wednesday of the reporting week; the key is
    # the ISO week of the Wednesday that ends the window.
    wednesday = date.fromisocalendar(period.year, period.index, 3)
    return wednesday - timedelta(days=6), wednesday


def _month_span(period: Period) -> tuple[tuple[int, int], tuple[int, int]]:
    y, i = period.year, period.index
    months = {
        Frequency.MONTHLY: (i, i),
        Frequency.QUARTERLY: (3 * i - 2, 3 * i),
        Frequency.SEMIANNUAL: (6 * i - 5, 6 * i),
        Frequency.NINE_MONTH: (1, 9),
        Frequency.ANNUAL: (1, 12),
    }[period.frequency]
    return (y, months[0]), (y, months[1])


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    ordinal = year * 12 + (month - 1) + delta
    return ordinal // 12, ordinal % 12 + 1


def _last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _safe_date(year: int, month: int, day: int) -> date:
    """The given day, or the month's last day when the month is shorter (29/2 in 2027 → 28/2)."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _iso_weeks(year: int) -> int:
    return date(year, 12, 28).isocalendar()[1]
