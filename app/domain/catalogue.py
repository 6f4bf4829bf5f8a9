"""The catalogue — regimes (chế độ báo cáo), data forms (biểu mẫu), indicators (chỉ tiêu) and
disaggregations (phân tổ) — as immutable definitions read from plain data.

The parser reads mappings as produced by the YAML adapter (which remembers line numbers) or as
stored in a regime version snapshot (plain JSON); every problem names its file and line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

from .deadlines import (
    DeadlineRule,
)
from .errors import DomainError
from .periods import CutoffRule, Frequency, Period, periods_between
from .rules import Rule

CODE_RE = re.compile(r"^[A-Z][A-Z0-9_.-]{0,39}$")
VALUE_TYPES = ("number", "integer", "percent", "text")
AGGREGATIONS = ("sum", "average", "ratio", "min", "max", "latest", "none")
LEVELS = ("central", "ministry", "province", "department", "commune")
REGIME_TYPES = ("periodic", "thematic", "ad_hoc")
CONTENT_KINDS = ("text", "data", "both")
SENDING_METHODS = ("system", "edoc", "email", "fax", "post", "in_person")
SYSTEM_COLUMNS = (
    "current", "previous", "same_period_last_year", "cumulative",
    "pct_previous", "pct_same_period_last_year", "plan", "pct_plan",
)
SEVERITIES = ("error", "warning")
FREQUENCY_NAMES = {f.value: f for f in Frequency} | {"once": Frequency.AD_HOC, "6-monthly": Frequency.SEMIANNUAL}
DEFAULT_REMINDER_DAYS = (-5, -1, 0, 1, 3, 7)  # days relative to the deadline (issue: reminders)
REGIME_KEYS = (
    "code", "name_vi", "name_en", "type", "frequency", "issuing_agency", "legal_basis", "valid_from", "valid_to",
    "content", "content_kind", "sending_methods", "cutoff", "tiers", "outline", "forms", "process_guidance",
    "reminder_days", "lock_after_days", "note",
)
FORM_KEYS = ("code", "title", "rows", "disaggregations", "columns", "rules", "change_warning_pct", "note")
INDICATOR_KEYS = (
    "code", "name_vi", "name_en", "unit", "value_type", "aggregation", "disaggregations", "min", "max",
    "description", "numerator", "denominator", "scale",
)


# ---------------------------------------------------------------------------------- values
@dataclass(frozen=True)
class Option:
    code: str
    name_vi: str
    name_en: str = ""


@dataclass(frozen=True)
class Disaggregation:
    """Phân tổ: a dimension such as sex or urban/rural, with its options."""

    code: str
    name_vi: str
    name_en: str
    options: tuple[Option, ...]


@dataclass(frozen=True)
class IndicatorDef:
    """Chỉ tiêu: defined once, reused by every regime that needs it."""

    code: str
    name_vi: str
    name_en: str
    unit: str
    value_type: str = "number"
    aggregation: str = "sum"
    disaggregations: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    description: str = ""
    numerator: tuple[str, ...] = ()  # ratio: recomputed from summed parts, never averaged
    denominator: tuple[str, ...] = ()
    scale: float = 1.0  # ratio × scale, e.g. 100 for a percentage


@dataclass(frozen=True)
class FormRow:
    indicator: str
    row: str = ""  # row number as printed: A, I, 1, "-"
    parent: str | None = None  # the row this one adds up into
    of_which: bool = False  # "Trong đó" rows are shown under their parent but not summed
    carried_from: str | None = None  # filled by the system from this indicator of the previous period


@dataclass(frozen=True)
class RuleDef:
    rule: Rule
    severity: str = "error"
    message: str = ""


@dataclass(frozen=True)
class Form:
    """Biểu mẫu: indicator rows × disaggregation columns (and columns the system computes)."""

    code: str
    title: str
    rows: tuple[FormRow, ...]
    disaggregations: tuple[str, ...] = ()
    columns: tuple[str, ...] = ("current",)
    rules: tuple[RuleDef, ...] = ()
    change_warning_pct: float | None = None

    def children(self, indicator: str) -> list[FormRow]:
        return list(self._children.get(indicator, ()))

    @cached_property
    def _children(self) -> dict[str, tuple[FormRow, ...]]:
        """Rows summed into each parent, in form order (looked up per row and cell when a form renders)."""
        out: dict[str, list[FormRow]] = {}
        for r in self.rows:
            if r.parent is not None and not r.of_which:
                out.setdefault(r.parent, []).append(r)
        return {k: tuple(v) for k, v in out.items()}

    def is_total(self, indicator: str) -> bool:
        return bool(self.children(indicator))


@dataclass(frozen=True)
class Selector:
    """Who reports: levels, kinds of provincial department, and/or named agencies."""

    levels: tuple[str, ...] = ()
    department_kinds: tuple[str, ...] = ()
    agencies: tuple[str, ...] = ()
    except_agencies: tuple[str, ...] = ()  # left out of the levels chosen (e.g. the receiver itself)
    except_department_kinds: tuple[str, ...] = ()


COMPILE_BASES = ("approved", "submitted")
COMPILE_MISSING = ("omit", "carry_last")


@dataclass(frozen=True)
class CompilePolicy:
    """How a tier's report is compiled from the reports of the tier below it (tổng hợp):
    which of them count (approved only, or submitted too) and what a missing unit contributes
    (nothing, shown as missing; or its last reported value, marked as an estimate)."""

    basis: str = "approved"
    missing: str = "omit"


@dataclass(frozen=True)
class Tier:
    name: str
    reporters: Selector
    receiver: str  # "parent" | "province" | "department:KIND" | an agency code
    deadline: DeadlineRule
    compile: CompilePolicy = CompilePolicy()  # for tiers above the first: how they compile the tier below


@dataclass(frozen=True)
class OutlineSection:
    code: str
    title: str
    guidance: str = ""
    compiled: bool = False  # included in consolidated reports


@dataclass(frozen=True)
class RegimeDef:
    """Chế độ báo cáo, with the eleven elements of Decree 09 Art. 7."""

    code: str
    name_vi: str
    name_en: str
    type: str
    frequency: Frequency
    issuing_agency: str
    legal_basis: str
    valid_from: date
    valid_to: date | None
    content: str
    content_kind: str
    sending_methods: tuple[str, ...]
    cutoff: CutoffRule
    tiers: tuple[Tier, ...]
    outline: tuple[OutlineSection, ...]
    forms: tuple[Form, ...]
    process_guidance: str = ""
    reminder_days: tuple[int, ...] = DEFAULT_REMINDER_DAYS
    lock_after_days: int | None = None

    @property
    def indicator_codes(self) -> list[str]:
        seen: dict[str, None] = {}
        for form in self.forms:
            for row in form.rows:
                seen.setdefault(row.indicator)
        return list(seen)

    def periods(self, first: date, last: date) -> list[Period]:
        """Periods whose cut-off ends in [first, last] and within the regime's validity."""
        if self.frequency is Frequency.AD_HOC:
            return []
        lo = max(first, self.valid_from)
        hi = min(last, self.valid_to) if self.valid_to else last
        return [p for p in periods_between(self.frequency, lo, hi, self.cutoff) if self.covers(p)]

    def covers(self, period: Period) -> bool:
        if period.frequency is not self.frequency:
            return False
        end = period.cutoff(self.cutoff)[1]
        return self.valid_from <= end and (self.valid_to is None or end <= self.valid_to)

    def check_period(self, period: Period) -> None:
        if period.frequency is not self.frequency:
            raise DomainError(
                f"Kỳ {period.label_vi} ({period.key}) không phù hợp với chế độ {self.code} (báo cáo {self.frequency.name_vi})"
            )
        if not self.covers(period):
            until = f" đến {self.valid_to:%d/%m/%Y}" if self.valid_to else ""
            raise DomainError(
                f"Kỳ {period.key} nằm ngoài thời gian hiệu lực của chế độ {self.code} "
                f"(từ {self.valid_from:%d/%m/%Y}{until})"
            )


@dataclass(frozen=True)
class Source:
    """One catalogue document: where it came from and its parsed (line-aware) data."""

    path: str
    data: Any


@dataclass
class Catalogue:
    disaggregations: dict[str, Disaggregation] = field(default_factory=dict)
    indicators: dict[str, IndicatorDef] = field(default_factory=dict)
    regimes: dict[str, RegimeDef] = field(default_factory=dict)
    snapshots: dict[str, dict] = field(default_factory=dict)  # regime code → plain definition
    indicator_sources: dict[str, dict] = field(default_factory=dict)  # code → plain data
