"""What the reporting center's views are made of (rows of figures, the units one level down, the
view itself), and their plain-data form: a computed view is kept in the database (center_cache.py)
and read back against the regime's catalogue."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from app.domain import aggregation as rules
from app.domain.catalogue import Catalogue, IndicatorDef, RegimeDef
from app.domain.periods import Period
from app.models import Regime, RegimeVersion


@dataclass
class Row:
    indicator: IndicatorDef
    depth: int
    values: dict[str, Decimal | None]  # breakdown key → value
    previous: Decimal | None
    last_year: Decimal | None
    reporting: Decimal
    change_previous: Decimal | None = None  # like for like (vs_previous.change): % of before, or points
    change_last_year: Decimal | None = None
    vs_previous: rules.Comparison | None = None  # over the units that reported in both periods, with the coverage
    vs_last_year: rules.Comparison | None = None


@dataclass
class Child:
    code: str
    name: str
    level: str
    values: dict[str, Decimal | None]  # indicator → total
    reporting: int = 0
    expected: int = 0
    weight: Decimal | None = None  # re-attributed share, in current units


@dataclass
class View:
    regime: Regime
    version: RegimeVersion
    definition: RegimeDef
    catalogue: Catalogue
    period: Period
    unit: str
    unit_name: str
    units: str
    basis: str
    tier: int
    tiers: list[int]
    rows: list[Row]
    children: list[Child]
    expected: int
    reporting: int
    columns: list[tuple[str, str]] = field(default_factory=list)  # (breakdown key, label) of the first form


# ------------------------------------------------------------------------------ plain data and back
def _s(v: Decimal | None) -> str | None:
    return None if v is None else str(v)


def _D(v: str | None) -> Decimal | None:
    return None if v is None else Decimal(v)


def _cmp(c: rules.Comparison | None) -> list | None:
    return None if c is None else [_s(c.current), _s(c.before), _s(c.change), c.points, c.common, c.now_units, c.before_units]


def _uncmp(c: list | None) -> rules.Comparison | None:
    return None if c is None else rules.Comparison(_D(c[0]), _D(c[1]), _D(c[2]), bool(c[3]), int(c[4]), int(c[5]), int(c[6]))


def pack(v: View) -> dict:
    """A view as plain data (decimals as their exact text); the regime, catalogue and period are
    not kept — they are known to whoever asks again."""
    return {
        "unit_name": v.unit_name, "tier": v.tier, "tiers": v.tiers, "expected": v.expected, "reporting": v.reporting,
        "columns": [list(c) for c in v.columns],
        "rows": [[r.indicator.code, r.depth, {k: _s(x) for k, x in r.values.items()}, _s(r.previous), _s(r.last_year), _s(r.reporting),
                  _s(r.change_previous), _s(r.change_last_year), _cmp(r.vs_previous), _cmp(r.vs_last_year)] for r in v.rows],
        "children": [[c.code, c.name, c.level, {k: _s(x) for k, x in c.values.items()}, c.reporting, c.expected, _s(c.weight)]
                     for c in v.children],
    }


def unpack(data: dict, *, regime: Regime, version: RegimeVersion, definition: RegimeDef, catalogue: Catalogue, period: Period,
           unit: str, units: str, basis: str) -> View:
    rows = [Row(catalogue.indicators[code], depth, {k: _D(x) for k, x in values.items()}, _D(prev), _D(ly), _D(rep), _D(cp), _D(cly),
                _uncmp(vp), _uncmp(vly))
            for code, depth, values, prev, ly, rep, cp, cly, vp, vly in data["rows"]]
    children = [Child(code, name, level, {k: _D(x) for k, x in values.items()}, reporting, expected, _D(weight))
                for code, name, level, values, reporting, expected, weight in data["children"]]
    return View(regime, version, definition, catalogue, period, unit, data["unit_name"], units, basis, data["tier"], data["tiers"],
                rows, children, data["expected"], data["reporting"], [tuple(c) for c in data["columns"]])
