"""Views made of many small lines: the analyst's KPI page (indicators picked across regimes, each
with its latest value, its like-for-like change, a sparkline and the coverage) and small multiples
(one indicator's trend in every province, side by side on the same scale of time)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import delete, func, select

from app.domain import aggregation as rules
from app.domain.periods import Period
from app.extensions import db
from app.models import Regime, User
from app.models.quality import KpiPick

from . import center
from . import center_nav as nav
from .aggregation import CENTRAL, NATION
from .catalogue import regime_definition
from .errors import Invalid, NotFound

MAX_PICKS = 40


@dataclass
class Kpi:
    pick: KpiPick
    regime: Regime
    name: str
    unit: str
    period: Period | None
    value: Decimal | None
    vs_previous: rules.Comparison | None
    vs_last_year: rules.Comparison | None
    reporting: int
    expected: int
    trend: list[Decimal | None]
    labels: list[str]


def picks(user: User) -> list[KpiPick]:
    return list(db.session.scalars(select(KpiPick).where(KpiPick.user_id == user.id).order_by(KpiPick.position, KpiPick.id)))


def add(*, user: User, regime: str, indicator: str) -> KpiPick:
    center.scope_of(user)
    r = center._regime(regime)
    _definition, cat = regime_definition(r.current_version)
    if indicator not in _definition.indicator_codes:
        raise Invalid(f"Chế độ {regime} không có chỉ tiêu “{indicator[:40]}”")
    existing = db.session.scalar(select(KpiPick).where(KpiPick.user_id == user.id, KpiPick.regime_id == r.id,
                                                       KpiPick.indicator == indicator))
    if existing is not None:
        return existing
    count = db.session.scalar(select(func.count()).select_from(KpiPick).where(KpiPick.user_id == user.id))
    if count >= MAX_PICKS:
        raise Invalid(f"Theo dõi tối đa {MAX_PICKS} chỉ tiêu; hãy bỏ bớt trước khi thêm")
    pick = KpiPick(user_id=user.id, regime_id=r.id, indicator=indicator, position=count)
    db.session.add(pick)
    db.session.commit()
    return pick


def remove(*, user: User, pick: int) -> None:
    n = db.session.execute(delete(KpiPick).where(KpiPick.id == pick, KpiPick.user_id == user.id)).rowcount
    if not n:
        raise NotFound("Không có chỉ tiêu theo dõi này")
    db.session.commit()


def kpis(*, user: User, periods: int = 12) -> list[Kpi]:
    """Each picked indicator at the reader's unit (the nation, or their province), in the latest
    period with meaningful coverage of its regime."""
    center.scope_of(user)
    out = []
    latest: dict[int, str | None] = {}
    for pick in picks(user):
        r = pick.regime
        definition, cat = regime_definition(r.current_version)
        ind = cat.indicators.get(pick.indicator)
        if ind is None:
            continue
        if r.id not in latest:
            latest[r.id] = nav.latest_period(r)
        key = latest[r.id]
        if key is None:
            out.append(Kpi(pick, r, ind.name_vi, ind.unit, None, None, None, None, 0, 0, [], []))
            continue
        row, reporting, expected, _ = center.figure(user=user, regime=r.code, period=key, indicator=pick.indicator)
        trend = center.trend(user=user, regime=r.code, indicator=pick.indicator, unit=center._unit_for(user, NATION), end=key,
                             periods=periods)
        out.append(Kpi(pick, r, ind.name_vi, ind.unit, Period.parse(key), row.values.get(""), row.vs_previous, row.vs_last_year,
                       reporting, expected, [val for _, val in trend], [p.label_vi for p, _ in trend]))
    return out


@dataclass
class Multiple:
    code: str
    name: str
    values: list[Decimal | None]
    last_year: list[Decimal | None]


def multiples(*, user: User, regime: str, indicator: str, end: str, periods: int = 12,
              basis: str = "approved") -> tuple[list[Period], list[Multiple]]:
    """One indicator over `periods` periods in every province (as reported), with the same periods a
    year earlier: one query over the provinces' partials."""
    scope = center.scope_of(user)
    r = center._regime(regime)
    definition, cat = regime_definition(r.current_version)
    if indicator not in definition.indicator_codes:
        raise NotFound(f"Chế độ {regime} không có chỉ tiêu “{indicator[:40]}”")
    last = center._period(definition, end)
    shown = [last.shift(-i) for i in range(periods - 1, -1, -1)]
    per_year = last.frequency.periods_per_year
    earlier = [p.shift(-per_year) for p in shown] if per_year > 1 else []
    tier = (center._tiers(r.id, last.key, basis) or [0])[0]
    keys = [p.key for p in shown + earlier]
    units = center._child_units_nation(r.id, keys, tier, basis)
    if scope is not None:  # the province and the old ones merged into it, each as reported
        mine = center.scope_units(scope)
        units = [u for u in units if u in mine]
    ind = cat.indicators[indicator]
    cells = center._cells(r.id, keys, tier, basis, units, ind.aggregation in ("min", "max", "latest"), center.reads(ind))
    names = center.agency_svc.names_for(units)
    out = []
    for u in units:
        vals = [rules.value(ind, cells.get((p.key, u), {})) for p in shown]
        if all(v is None for v in vals):
            continue
        ly = [rules.value(ind, cells.get((p.key, u), {})) for p in earlier] if earlier else []
        out.append(Multiple(u, names.get(u, "Bộ, ngành trung ương" if u == CENTRAL else u), vals, ly))
    from app.adapters.collation import sorted_vi

    return shown, sorted(sorted_vi(out, key=lambda m: m.name), key=lambda m: m.code == CENTRAL)


__all__ = ["Kpi", "Multiple", "NATION", "add", "kpis", "multiples", "picks", "remove"]
