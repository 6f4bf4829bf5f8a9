"""Rolling values up the hierarchy. A `Partial` summarises one cell (indicator × breakdown) over a
set of agencies — count, sum, min, max, latest — and partials merge associatively, so communes
merge into a province and provinces into the nation, and data re-attributed across the 2025
reorganisation merges with weights. The value shown follows the indicator's aggregation rule:

    sum      the sum                      average  sum / count of reporting agencies
    ratio    Σ numerator / Σ denominator × scale — recomputed, never an average of percentages
    min/max  the smallest / largest       latest   the most recently reported value
    none     not aggregatable (and text values never are)

An agency that did not report contributes nothing: missing is not zero.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .catalogue import IndicatorDef
from .numbers import normalise


@dataclass(frozen=True)
class Partial:
    n: Decimal = Decimal(0)  # (weighted) number of agencies with a value
    total: Decimal = Decimal(0)
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    latest_at: datetime | None = None
    latest: Decimal | None = None

    @classmethod
    def of(cls, value: Decimal, at: datetime | None = None) -> Partial:
        return cls(Decimal(1), value, value, value, at, value)

    def merge(self, other: Partial) -> Partial:
        if not other.n:
            return self
        if not self.n:
            return other
        newer = other if (other.latest_at and (not self.latest_at or other.latest_at > self.latest_at)) else self
        return Partial(self.n + other.n, self.total + other.total, _pick(min, self.minimum, other.minimum),
                       _pick(max, self.maximum, other.maximum), newer.latest_at, newer.latest)

    def scaled(self, weight: Decimal) -> Partial:
        """The share of an old unit's data that goes to one of its successors: counts and sums
        scale; min, max and latest are properties of values and do not."""
        if weight == 1:
            return self
        return Partial(self.n * weight, self.total * weight, self.minimum, self.maximum, self.latest_at, self.latest)


def _pick(fn, a, b):
    if a is None:
        return b
    if b is None:
        return a
    return fn(a, b)


def combine(parts: Iterable[Partial]) -> Partial:
    out = Partial()
    for p in parts:
        out = out.merge(p)
    return out


Cells = Mapping[tuple[str, str], Partial]  # (indicator, breakdown key) → partial


def value(ind: IndicatorDef, cells: Cells, key: str = "") -> Decimal | None:
    """The figure shown for an indicator at a level, from the partials of that level."""
    if ind.value_type == "text" or ind.aggregation == "none":
        return None
    if ind.aggregation == "ratio":
        num = [cells.get((c, key)) for c in ind.numerator]
        den = [cells.get((c, key)) for c in ind.denominator]
        if not any(p and p.n for p in num) or not any(p and p.n for p in den):
            return None
        d = sum((p.total for p in den if p), Decimal(0))
        if d == 0:
            return None
        return normalise(sum((p.total for p in num if p), Decimal(0)) / d * Decimal(str(ind.scale)))
    p = cells.get((ind.code, key))
    if p is None or not p.n:
        return None
    if ind.aggregation == "sum":
        return normalise(p.total)
    if ind.aggregation == "average":
        return normalise(p.total / p.n)
    if ind.aggregation == "min":
        return p.minimum
    if ind.aggregation == "max":
        return p.maximum
    if ind.aggregation == "latest":
        return p.latest
    return None


def reporting(ind: IndicatorDef, cells: Cells, key: str = "") -> Decimal:
    """How many agencies the figure rests on (weighted after re-attribution)."""
    if ind.aggregation == "ratio":
        return max((cells[(c, key)].n for c in ind.denominator if (c, key) in cells), default=Decimal(0))
    p = cells.get((ind.code, key))
    return p.n if p else Decimal(0)


def change(current: Decimal | None, before: Decimal | None) -> Decimal | None:
    """current as a percentage of before (105,3 % = up 5,3 %); None without a base."""
    if current is None or before is None or before == 0:
        return None
    return normalise(current / before * 100)


@dataclass(frozen=True)
class Comparison:
    """A figure against an earlier period, like for like: both computed over the units that reported
    the indicator in both periods. For percentages and ratios the change is in percentage points;
    for other figures it is the current as a percentage of the earlier (105,3 % = up 5,3 %)."""

    current: Decimal | None
    before: Decimal | None
    change: Decimal | None
    points: bool  # change in percentage points
    common: int  # units that reported in both periods
    now_units: int  # units that reported now
    before_units: int  # units that reported then

    @property
    def partial(self) -> bool:
        """Coverage differs between the periods: the comparison leaves units out (say so)."""
        return self.common < self.now_units or self.common < self.before_units


def in_points(ind: IndicatorDef) -> bool:
    return ind.aggregation == "ratio" or ind.value_type == "percent" or ind.unit.strip() in ("%", "phần trăm")


def has_value(ind: IndicatorDef, cells: Cells, key: str = "") -> bool:
    """Whether `value` would give a figure — without computing it (thousands of units × indicators
    per national view)."""
    if ind.value_type == "text" or ind.aggregation == "none":
        return False
    if ind.aggregation == "ratio":
        return value(ind, cells, key) is not None  # a zero denominator has no figure
    p = cells.get((ind.code, key))
    if p is None or not p.n:
        return False
    if ind.aggregation in ("sum", "average"):
        return p.total is not None
    return {"min": p.minimum, "max": p.maximum, "latest": p.latest}.get(ind.aggregation) is not None


def _units_with(ind: IndicatorDef, by_unit: Mapping[str, Cells], key: str) -> set[str]:
    return {u for u, cells in by_unit.items() if has_value(ind, cells, key)}


def compare(ind: IndicatorDef, now: Mapping[str, Cells], before: Mapping[str, Cells], key: str = "",
            totals: tuple[Decimal | None, Decimal | None] | None = None) -> Comparison:
    """`now` and `before`: unit → partials of that unit, for the two periods. `totals`: the figure
    over all units in each period, when the caller has it — used as is when the same units reported
    in both (nothing to leave out), except for ratios (a unit may hold a numerator and no denominator)."""
    now_units, before_units = _units_with(ind, now, key), _units_with(ind, before, key)
    common = now_units & before_units
    if totals is not None and ind.aggregation != "ratio" and now_units == before_units and common:
        cur, bef = totals
        points = in_points(ind)
        delta = (normalise(cur - bef) if cur is not None and bef is not None else None) if points else change(cur, bef)
        return Comparison(cur, bef, delta, points, len(common), len(now_units), len(before_units))

    wanted = [(c, key) for c in (ind.code, *(ind.numerator or ()), *(ind.denominator or ()))]  # the cells the figure reads

    def over(by_unit: Mapping[str, Cells]) -> Decimal | None:
        cells: dict[tuple[str, str], Partial] = {}
        for u in common:
            mine = by_unit[u]
            for k in wanted:
                p = mine.get(k)
                if p is not None:
                    cells[k] = cells[k].merge(p) if k in cells else p
        return value(ind, cells, key)

    cur, bef = (over(now), over(before)) if common else (None, None)
    points = in_points(ind)
    if points:
        delta = normalise(cur - bef) if cur is not None and bef is not None else None
    else:
        delta = change(cur, bef)
    return Comparison(cur, bef, delta, points, len(common), len(now_units), len(before_units))


def reattribute(by_unit: Mapping[str, Cells], lineage: Mapping[str, Mapping[str, float]]) -> dict[str, dict[tuple[str, str], Partial]]:
    """Partials of the units as reported → partials of today's units: each old unit's partials go
    to its successors with the recorded weights (a unit with no lineage keeps its own)."""
    out: dict[str, dict[tuple[str, str], Partial]] = {}
    for unit, cells in by_unit.items():
        for successor, weight in (lineage.get(unit) or {unit: 1.0}).items():
            target = out.setdefault(successor, {})
            w = Decimal(str(weight))
            for key, p in cells.items():
                target[key] = target.get(key, Partial()).merge(p.scaled(w))
    return out


@dataclass(frozen=True)
class Completeness:
    expected: int
    submitted: int  # submitted or approved
    on_time: int
    late: int
    returned: int
    draft: int
    missing: int

    @property
    def rate(self) -> Decimal:
        return normalise(Decimal(self.submitted) / self.expected * 100) if self.expected else Decimal(0)

    @property
    def on_time_rate(self) -> Decimal:
        return normalise(Decimal(self.on_time) / self.expected * 100) if self.expected else Decimal(0)


def classify(status: str | None, on_time: bool | None) -> str:
    """One cell of the completeness matrix."""
    if status in ("submitted", "approved"):
        return "on_time" if on_time else "late"
    if status == "returned":
        return "returned"
    if status == "draft":
        return "draft"
    return "missing"


def completeness(expected: Iterable[str], status: Mapping[str, tuple[str, bool | None]]) -> Completeness:
    """Counts over the agencies obliged to report (only they count, so no rate exceeds 100 %)."""
    counts = {"on_time": 0, "late": 0, "returned": 0, "draft": 0, "missing": 0}
    n = 0
    for agency in set(expected):
        n += 1
        s, on_time = status.get(agency, (None, None))
        counts[classify(s, on_time)] += 1
    return Completeness(n, counts["on_time"] + counts["late"], counts["on_time"], counts["late"], counts["returned"],
                        counts["draft"], counts["missing"])


# ------------------------------------------------------------------------------- compiling a report
@dataclass(frozen=True)
class CompiledCell:
    """One cell of a report compiled from the reports of the units below (tổng hợp)."""

    value: Decimal | None
    units: int  # how many units gave a value for it (for a ratio: for its denominator)
    estimate: bool  # rests on at least one estimate (ước thực hiện) of a unit


def compile_cells(inputs: Iterable[tuple[tuple[str, str], IndicatorDef]],
                  sources: Mapping[str, Mapping[tuple[str, str], tuple[Decimal | str | None, bool]]]) -> dict[tuple[str, str], CompiledCell]:
    """The typed cells of a compiling agency's report from its units' reports, each by its
    indicator's aggregation rule — the same rules (and the same `value`) as the reporting center.

    `inputs`: the (indicator, breakdown) cells a clerk types, with their indicators; `sources`:
    unit → cell → (value, is an estimate). Text and non-aggregatable cells stay empty; a unit
    without a value for a cell contributes nothing to it (missing is not zero)."""
    acc: dict[tuple[str, str], list] = {}  # key → [n, total, min, max, last]: 30,000 values, no object per value
    estimated: set[tuple[str, str]] = set()
    for cells in sources.values():
        for key, (v, estimate) in cells.items():
            if isinstance(v, Decimal):
                a = acc.get(key)
                if a is None:
                    acc[key] = [1, v, v, v, v]
                else:
                    a[0] += 1
                    a[1] += v
                    if v < a[2]:
                        a[2] = v
                    if v > a[3]:
                        a[3] = v
                    a[4] = v
                if estimate:
                    estimated.add(key)
    partials = {k: Partial(Decimal(n), total, lo, hi, None, last) for k, (n, total, lo, hi, last) in acc.items()}
    out = {}
    for key, ind in inputs:
        parts = [(c, key[1]) for c in ind.denominator] if ind.aggregation == "ratio" else [key]
        rests_on_estimate = any(k in estimated for k in ([key] + [(c, key[1]) for c in ind.numerator + ind.denominator]))
        out[key] = CompiledCell(value(ind, partials, key[1]), int(reporting(ind, partials, key[1])),
                                rests_on_estimate and any(k in partials for k in parts))
    return out
