"""The reporting center's views, read from the partials aggregation.py keeps: the figures of a unit
(the nation, a province, an agency) with its units one level down, trends, completeness and
timeliness — each scoped to the reader, as reported or in today's units."""
from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    Numeric,
    String,
    func,
    select,
    type_coerce,
)
from sqlalchemy.orm import aliased

from app.adapters.collation import sorted_vi
from app.domain import aggregation as rules
from app.domain.aggregation import Partial
from app.domain.catalogue import Catalogue, IndicatorDef, RegimeDef
from app.domain.errors import DomainError
from app.domain.hierarchy import obligations
from app.domain.periods import Period
from app.extensions import db
from app.models import (
    Agency,
    AgencyLineage,
    Aggregate,
    Level,
    RecordVersion,
    Regime,
    RegimeVersion,
    Role,
    SubmissionValue,
    User,
)

from . import agencies as agency_svc
from . import center_cache, center_compare
from .aggregation import BASES, CENTRAL, NATION, _province_of
from .catalogue import regime_definition
from .center_types import Child, Row, View, pack, unpack
from .errors import Forbidden, Invalid, NotFound


# ---------------------------------------------------------------------------------------- scope
def scope_of(user: User) -> str | None:
    """The unit a user may look at: None for the whole country; a province code otherwise."""
    if not user.has_role(Role.ANALYST, Role.ADMIN, Role.APPROVER, Role.DESIGNER):
        raise Forbidden("Trung tâm báo cáo dành cho chuyên viên tổng hợp, người phê duyệt và quản trị")
    agency = user.agency
    if agency.level in (Level.CENTRAL.value, Level.MINISTRY.value):
        return None
    province = _province_of(agency, date.today())
    if province == CENTRAL:
        return None
    return province


def _unit_for(user: User, unit: str) -> str:
    """The unit to show: the nation becomes the user's province for a province's staff; a unit
    outside the user's scope is refused."""
    scope = scope_of(user)
    if unit == NATION and scope is not None:
        unit = scope
    if unit not in (NATION, CENTRAL) and db.session.scalar(select(Agency.id).where(Agency.code == unit)) is None:
        raise NotFound(f"Không có đơn vị mã “{unit[:40]}”")
    _check_unit(user, unit)
    return unit


def _check_unit(user: User, unit: str) -> None:
    scope = scope_of(user)
    if scope is None or unit == scope:
        return
    agency = db.session.scalar(select(Agency).where(Agency.code == unit))
    if agency is not None:
        if _province_of(agency, date.today()) == scope:
            return
        # a unit that no longer exists: the province it was in on its last day, if that is (or became) the user's
        then = agency.valid_to if agency.valid_to is not None and agency.valid_to < date.today() else None
        if then is not None and _province_of(agency, then) in scope_units(scope):
            return
    raise Forbidden(f"Bạn chỉ xem được số liệu của {scope}")


def scope_units(scope: str) -> set[str]:
    """The province `scope` and the units of before whose data became (wholly or in part) its own
    by the map's lineage — old provinces merged into it: its staff see their history as their own
    (records keep the province as reported: docs/decisions/0005)."""
    seen, frontier = {scope}, {scope}
    while frontier:
        successor = aliased(Agency)
        found = set(db.session.scalars(select(Agency.code).join(AgencyLineage, AgencyLineage.predecessor_id == Agency.id)
                                       .join(successor, successor.id == AgencyLineage.successor_id).where(successor.code.in_(frontier))))
        frontier = found - seen
        seen |= frontier
    return seen


# ---------------------------------------------------------------------------------------- views
def _regime(code: str) -> Regime:
    regime = db.session.scalar(select(Regime).where(Regime.code == code))
    if regime is None or not regime.versions:
        raise NotFound(f"Không có chế độ báo cáo mã “{code}”")
    return regime


def _period(definition: RegimeDef, key: str) -> Period:
    try:
        period = Period.parse(key)
        definition.check_period(period)
    except DomainError as exc:
        raise Invalid(str(exc)) from None
    return period


def _raw(col):
    """Read a stored decimal without per-row normalising (thousands of rows per view): exact
    NUMERIC on PostgreSQL, the canonical text on SQLite."""
    return type_coerce(col, String if db.engine.dialect.name == "sqlite" else Numeric(asdecimal=True))


def _d(v) -> Decimal | None:
    return None if v is None else (v if isinstance(v, Decimal) else Decimal(v))


def _cells(regime_id: int, period_keys: Iterable[str], tier: int, basis: str, units: Iterable[str],
           extremes: bool = True, indicators: Iterable[str] | None = None) -> dict[tuple[str, str], dict]:
    """(period, unit) → {(indicator, key): Partial} from the stored partials (one query).
    Without `extremes` only counts and sums are read (enough for sum, average and ratio); with
    `indicators`, only theirs."""
    a = Aggregate
    out: dict[tuple[str, str], dict] = defaultdict(dict)
    cols = [a.period_key, a.unit_code, a.indicator, a.dkey, a.n, _raw(a.total)]
    if extremes:
        cols += [_raw(a.minimum), _raw(a.maximum), a.latest_at, _raw(a.latest)]
    where = [a.regime_id == regime_id, a.tier == tier, a.basis == basis, a.period_key.in_(list(period_keys))]
    if units is not None:  # None: every unit (the nation, the provinces, the ministries)
        where.append(a.unit_code.in_(list(units)))
    if indicators is not None:
        where.append(a.indicator.in_(list(indicators)))
    rows = db.session.execute(select(*cols).where(*where)).all()
    if extremes:
        for p, u, ind, key, n, total, lo, hi, at, latest in rows:
            out[(p, u)][(ind, key)] = Partial(Decimal(n), _d(total), _d(lo), _d(hi), at, _d(latest))
    else:
        for p, u, ind, key, n, total in rows:
            out[(p, u)][(ind, key)] = Partial(Decimal(n), _d(total))
    return out


def _needs_extremes(definition: RegimeDef, cat: Catalogue) -> bool:
    return any(cat.indicators[c].aggregation in ("min", "max", "latest") for c in definition.indicator_codes)


def _tiers(regime_id: int, period_key: str, basis: str) -> list[int]:
    return sorted(db.session.scalars(select(Aggregate.tier).distinct().where(
        Aggregate.regime_id == regime_id, Aggregate.period_key == period_key, Aggregate.basis == basis)))


def _lineage(codes: Iterable[str]) -> dict[str, dict[str, float]]:
    """Old unit → {today's unit: share}, for the units that no longer exist."""
    today = date.today()
    out = {}
    for code in codes:
        if code in (NATION, CENTRAL):
            continue
        shares = agency_svc.current_units_for(code=code, on=today)
        if shares and shares != {code: 1.0}:
            out[code] = shares
    return out


def view(*, user: User, regime: str, period: str, unit: str = NATION, units: str = "as_reported",
         basis: str = "approved", tier: int | None = None, child_indicators: Iterable[str] | None = None) -> View:
    """The figures of one unit (the nation, a province, an agency) for a regime and period, with
    the units one level down, as reported or in today's units. `child_indicators`: the indicators
    a page shows for the units one level down (a province's agencies are read for those only);
    None: every indicator."""
    if units not in ("as_reported", "current"):
        raise Invalid("units phải là as_reported hoặc current")
    if basis not in BASES:
        raise Invalid("basis phải là approved hoặc latest")
    unit = _unit_for(user, unit)
    r = _regime(regime)
    version = r.current_version
    definition, cat = regime_definition(version)
    p = _period(definition, period)
    shown = None if child_indicators is None or unit == NATION else sorted(set(child_indicators) - {""})
    columns = "all"
    if shown is not None and set(shown) <= set(first := shown_first(regime)):
        shown, columns = sorted(first), "first"  # the page's default columns: one kept view for every reader of them
    if (shown is not None and columns != "first") or not _keeps(unit):
        return _compute(r, version, definition, cat, p, unit, units, basis, tier, shown)  # an agency's own view, chosen columns
    keys = [p.key, p.previous().key, p.same_period_last_year().key]
    key = center_cache.key_of("view", version.id, version.content_hash, p.key, unit, units, basis, tier, columns)
    data, stamps = center_cache.lookup(key, r.id, keys)  # the stamps first: never a view stored with newer ones than its figures
    if data is not None:
        return unpack(data, regime=r, version=version, definition=definition, catalogue=cat, period=p, unit=unit, units=units, basis=basis)
    v = _compute(r, version, definition, cat, p, unit, units, basis, tier, shown)
    center_cache.store(key, r.id, p.key, stamps, pack(v))
    return v


def _keeps(unit: str) -> bool:
    """The views kept (center_cache): the nation's, the ministries' and each province's — a few
    dozen units, the costly ones; an agency's own view is cheap and there are thousands."""
    if unit in (NATION, CENTRAL):
        return True
    return db.session.scalar(select(Agency.level).where(Agency.code == unit)) == Level.PROVINCE.value


def _compute(r: Regime, version: RegimeVersion, definition: RegimeDef, cat: Catalogue, p: Period, unit: str, units: str, basis: str,
             tier: int | None, child_indicators: list[str] | None) -> View:
    tiers = _tiers(r.id, p.key, basis) or [0]
    tier = tier if tier is not None and tier in tiers else tiers[0]
    keys = [p.key, p.previous().key, p.same_period_last_year().key]
    ext = _needs_extremes(definition, cat)
    compared: dict = {}  # indicator → like-for-like comparisons the database computed (a province, as reported)
    if unit == NATION:
        child_units = _child_units_nation(r.id, keys, tier, basis)
        lineage = _lineage(child_units) if units == "current" else {}
        cells = _cells(r.id, keys, tier, basis, [NATION], ext)
        now, prev, ly = (cells.get((k, NATION), {}) for k in keys)
        child_cells = _cells(r.id, keys, tier, basis, child_units, ext)
        per_period = [{u: c for u in child_units if (c := child_cells.get((k, u)))} for k in keys]
        if units == "current":
            per_period = [rules.reattribute(by, lineage) for by in per_period]
        by_unit = per_period[0]
        children = _children_from_cells(by_unit, definition, cat, lineage)
        unit_name = "Toàn quốc"
    else:
        agency = db.session.scalar(select(Agency).where(Agency.code == unit))
        if agency is None and unit != CENTRAL:
            raise NotFound(f"Không có đơn vị mã “{unit}”")
        if unit == CENTRAL or (agency and agency.level == Level.PROVINCE.value):
            sources = [unit]
            lineage = {}
            if units == "current" and unit != CENTRAL:
                old = _predecessors(unit)
                lineage = _lineage(old)
                sources = [unit, *old]
            cells = _cells(r.id, keys, tier, basis, sources, ext)
            merged = [rules.reattribute({u: cells.get((k, u), {}) for u in sources}, lineage).get(unit, {}) for k in keys]
            now, prev, ly = merged
            children = _children_agencies(r.id, p.key, tier, basis, sources, definition, cat, lineage, unit, child_indicators)
            compared = {} if lineage else center_compare.province(r.id, keys, tier, basis, sources,
                                                                  center_compare.in_sql(definition, cat), cat)
            rest = {code for c in definition.indicator_codes if c not in compared for code in reads(cat.indicators[c])}
            per_period = _agency_partials(r.id, keys, tier, basis, sources, lineage, unit, rest if compared else None)
            unit_name = agency.name if agency else "Bộ, ngành trung ương"
        else:
            now, prev, ly = (_agency_cells(r.id, k, basis, unit) for k in keys)
            per_period = [{unit: c} if c else {} for c in (now, prev, ly)]
            children = []
            unit_name = agency.name
    rows = _rows(definition, cat, now, prev, ly, per_period, compared)
    expected, reporting = _expected(r, definition, p, tier, unit, now)
    form = definition.forms[0] if definition.forms else None
    columns = [("", "Tổng số")]
    if form and form.disaggregations:
        from app.domain.layout import Layout

        columns = [(c.key, c.label) for c in Layout(definition, cat).forms[0].columns]
    return View(r, version, definition, cat, p, unit, unit_name, units, basis, tier, tiers, rows, children, expected, reporting, columns)


def _child_units_nation(regime_id, period_keys, tier, basis) -> list[str]:
    keys = [period_keys] if isinstance(period_keys, str) else list(period_keys)
    return sorted(db.session.scalars(select(Aggregate.unit_code).distinct().where(
        Aggregate.regime_id == regime_id, Aggregate.period_key.in_(keys), Aggregate.tier == tier, Aggregate.basis == basis,
        Aggregate.unit_code != NATION)))


def _agency_partials(regime_id, period_keys, tier, basis, sources, lineage, unit, indicators=None) -> list[dict]:
    """For each period: agency → its partials (one value each), the agencies of a province and — in
    today's units — of the provinces it came from, weighted by their share (one query)."""
    rv, sv = RecordVersion, SubmissionValue
    where = [rv.regime_id == regime_id, rv.period_key.in_(list(period_keys)), rv.tier == tier, rv.basis == basis,
             rv.province_code.in_(sources), sv.number.is_not(None)]
    if indicators is not None:
        where.append(sv.indicator.in_(list(indicators)))
    rows = db.session.execute(select(rv.period_key, rv.agency_code, rv.province_code, sv.indicator, sv.dkey, sv.number)
                              .join(sv, sv.version_id == rv.version_id).where(*where)).all()
    out = [defaultdict(dict) for _ in period_keys]
    index = {k: i for i, k in enumerate(period_keys)}
    for key, code, province, ind, dkey, number in rows:
        share = lineage.get(province, {}).get(unit) if province != unit else None
        part = Partial.of(number)
        out[index[key]][code][(ind, dkey)] = part.scaled(Decimal(str(share))) if share not in (None, 1.0) else part
    return [dict(o) for o in out]


def _predecessors(code: str) -> list[str]:
    from app.models import AgencyLineage

    succ = aliased(Agency)
    pred = aliased(Agency)
    found, frontier = [], [code]
    while frontier:
        rows = db.session.scalars(select(pred.code).join(AgencyLineage, AgencyLineage.predecessor_id == pred.id)
                                  .join(succ, succ.id == AgencyLineage.successor_id).where(succ.code.in_(frontier))).all()
        frontier = [r for r in rows if r not in found and r != code]
        found += frontier
    return found


def _children_from_cells(by_unit, definition: RegimeDef, cat: Catalogue, lineage) -> list[Child]:
    names = agency_svc.names_for(by_unit)
    names[CENTRAL] = "Bộ, ngành trung ương"
    out = []
    for u, cells in by_unit.items():
        vals = {c: rules.value(cat.indicators[c], cells) for c in definition.indicator_codes}
        n = max((p.n for p in cells.values()), default=Decimal(0))
        out.append(Child(u, names.get(u, u), "province" if u != CENTRAL else "central", vals, int(n)))
    return sorted(sorted_vi(out, key=lambda c: c.name), key=lambda c: c.code == CENTRAL)  # Vietnamese order, ministries last


def _children_agencies(regime_id, period_key, tier, basis, sources, definition, cat, lineage, unit, shown=None) -> list[Child]:
    rv, sv = RecordVersion, SubmissionValue
    codes = [c for c in definition.indicator_codes if shown is None or c in set(shown)]
    where = [rv.regime_id == regime_id, rv.period_key == period_key, rv.tier == tier, rv.basis == basis, rv.province_code.in_(sources),
             sv.dkey == "", sv.number.is_not(None)]
    if shown is not None:
        where.append(sv.indicator.in_({x for c in codes for x in reads(cat.indicators[c])}))
    rows = db.session.execute(select(rv.agency_code, rv.province_code, sv.indicator, sv.number)
                              .join(sv, sv.version_id == rv.version_id).where(*where)).all()
    per: dict[str, dict] = defaultdict(dict)
    province_of = {}
    for code, province, ind, number in rows:
        per[code][(ind, "")] = Partial.of(number)
        province_of[code] = province
    names = agency_svc.names_for(per)
    levels = dict(db.session.execute(select(Agency.code, Agency.level).where(Agency.code.in_(list(per)))).all()) if per else {}
    out = []
    for code, cells in per.items():
        share = lineage.get(province_of[code], {}).get(unit) if province_of[code] != unit else None
        vals = {c: rules.value(cat.indicators[c], cells) for c in codes}
        if share is not None and share != 1.0:
            vals = {c: (v * Decimal(str(share)) if v is not None and cat.indicators[c].aggregation == "sum" else v) for c, v in vals.items()}
        out.append(Child(code, names.get(code, code), levels.get(code, ""), vals, 1, 1, Decimal(str(share)) if share else None))
    return sorted(sorted_vi(out, key=lambda c: c.name), key=lambda c: c.level)  # by level, names in Vietnamese order


def _agency_cells(regime_id, period_key, basis, code) -> dict:
    rv, sv = RecordVersion, SubmissionValue
    rows = db.session.execute(select(sv.indicator, sv.dkey, sv.number, rv.reported_at).join(sv, sv.version_id == rv.version_id)
                              .where(rv.regime_id == regime_id, rv.period_key == period_key, rv.basis == basis,
                                     rv.agency_code == code, sv.number.is_not(None))).all()
    return {(i, k): Partial.of(n, at) for i, k, n, at in rows}


def _rows(definition: RegimeDef, cat: Catalogue, now, prev, ly, per_period=None, compared=None) -> list[Row]:
    out = []
    seen = set()
    from app.domain.layout import Layout

    layout = Layout(definition, cat)
    for grid in layout.forms:
        keys = [c.key for c in grid.columns]
        for line in grid.lines:
            ind = line.indicator
            if ind.code in seen:
                continue
            seen.add(ind.code)
            cur = rules.value(ind, now)
            row = Row(ind, line.depth, {k: rules.value(ind, now, k) for k in keys}, rules.value(ind, prev), rules.value(ind, ly),
                      rules.reporting(ind, now))
            if compared and ind.code in compared:  # computed in the database (center_compare)
                row.vs_previous, row.vs_last_year = compared[ind.code]
                row.change_previous, row.change_last_year = row.vs_previous.change, row.vs_last_year.change
            elif per_period is not None:  # like for like: over the units that reported in both periods
                row.vs_previous = rules.compare(ind, per_period[0], per_period[1], totals=(cur, row.previous))
                row.vs_last_year = rules.compare(ind, per_period[0], per_period[2], totals=(cur, row.last_year))
                row.change_previous, row.change_last_year = row.vs_previous.change, row.vs_last_year.change
            else:
                row.change_previous = rules.change(cur, row.previous)
                row.change_last_year = rules.change(cur, row.last_year)
            out.append(row)
    return out


_EXPECTED: dict[tuple, tuple[float, int]] = {}
EXPECTED_TTL = 300.0  # seconds: obligations follow the agency map, which changes by decision, not by the minute


def _expected(regime: Regime, definition: RegimeDef, period: Period, tier: int, unit: str, now) -> tuple[int, int]:
    """How many agencies owe this tier under the unit, and how many the figures rest on."""
    reporting = int(max((p.n for p in now.values()), default=Decimal(0)))
    key = (regime.current_version.id, regime.current_version.content_hash, period.key, tier, unit)
    hit = _EXPECTED.get(key)
    if hit and time.monotonic() - hit[0] < EXPECTED_TTL:
        return hit[1], reporting
    expected = _count_expected(definition, period, tier, unit)
    _EXPECTED[key] = (time.monotonic(), expected)
    return expected, reporting


def _count_expected(definition: RegimeDef, period: Period, tier: int, unit: str) -> int:
    day = period.cutoff(definition.cutoff)[1]
    units = agency_svc.units_on(day=day)
    owed = [o.agency for o in obligations(definition, period, units) if o.tier == tier]
    by_code = {u.code: u for u in units}
    if unit != NATION:
        owed = [c for c in owed if c == unit or by_code[c].province == unit or (unit == CENTRAL and by_code[c].province is None)]
    return len(owed)


def trend(*, user: User, regime: str, indicator: str, unit: str = NATION, periods: int = 12, end: str | None = None,
          basis: str = "approved", tier: int | None = None) -> list[tuple[Period, Decimal | None]]:
    """One indicator over the last `periods` periods at one unit (one query)."""
    unit = _unit_for(user, unit)
    r = _regime(regime)
    definition, cat = regime_definition(r.current_version)
    if indicator not in cat.indicators:
        raise NotFound(f"Chế độ {regime} không có chỉ tiêu “{indicator}”")
    last = _period(definition, end) if end else None
    if last is None:
        key = db.session.scalar(select(func.max(Aggregate.period_key)).where(Aggregate.regime_id == r.id))
        if key is None:
            return []
        last = Period.parse(key)
    keys = [last.shift(-i) for i in range(periods - 1, -1, -1)]
    tier = tier if tier is not None else (_tiers(r.id, last.key, basis) or [0])[0]
    ind = cat.indicators[indicator]
    cells = _cells(r.id, [p.key for p in keys], tier, basis, [unit], ind.aggregation in ("min", "max", "latest"), reads(ind))
    return [(p, rules.value(ind, cells.get((p.key, unit), {}))) for p in keys]


def shown_first(regime: str, n: int = 6) -> list[str]:
    """The indicators a comparison table shows when none were chosen: the first of the forms."""
    from app.domain.layout import Layout

    definition, cat = regime_definition(_regime(regime).current_version)
    return list(dict.fromkeys(line.indicator.code for g in Layout(definition, cat).forms for line in g.lines))[:n]


def reads(ind: IndicatorDef) -> list[str]:
    """The indicators whose partials a figure is computed from (itself, or a ratio's parts)."""
    return [ind.code, *(ind.numerator or ()), *(ind.denominator or ())]


def figure(*, user: User, regime: str, period: str, indicator: str, basis: str = "approved") -> tuple[Row, int, int, str]:
    """One indicator at the reader's unit (the nation, or their province): its row (value, like-for-
    like comparisons), how many units it rests on and how many owe it — reading only its own
    partials (the KPI page: one indicator of many regimes)."""
    unit = _unit_for(user, NATION)
    r = _regime(regime)
    definition, cat = regime_definition(r.current_version)
    if indicator not in cat.indicators:
        raise NotFound(f"Chế độ {regime} không có chỉ tiêu “{indicator}”")
    p = _period(definition, period)
    ind = cat.indicators[indicator]
    tier = (_tiers(r.id, p.key, basis) or [0])[0]
    keys = [p.key, p.previous().key, p.same_period_last_year().key]
    ext = ind.aggregation in ("min", "max", "latest")
    cells = _cells(r.id, keys, tier, basis, None if unit == NATION else [unit], ext, reads(ind))  # one query, this indicator's cells
    units = sorted({u for _, u in cells if u != NATION}) if unit == NATION else [unit]
    now, prev, ly = (cells.get((k, unit), {}) for k in keys)
    per_period = [{u: c for u in units if (c := cells.get((k, u)))} for k in keys] if unit == NATION else None
    if per_period is None and unit != NATION:  # a province: its agencies' values, for like for like
        per_period = _agency_partials(r.id, keys, tier, basis, [unit], {}, unit, reads(ind))
    row = Row(ind, 0, {"": rules.value(ind, now)}, rules.value(ind, prev), rules.value(ind, ly), rules.reporting(ind, now))
    row.vs_previous = rules.compare(ind, per_period[0], per_period[1])
    row.vs_last_year = rules.compare(ind, per_period[0], per_period[2])
    row.change_previous, row.change_last_year = row.vs_previous.change, row.vs_last_year.change
    expected, reporting = _expected(r, definition, p, tier, unit, now)
    return row, reporting, expected, p.key


# -------------------------------------------------------------------------------- completeness
