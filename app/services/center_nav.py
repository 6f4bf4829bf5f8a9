"""Finding one's way in the reporting center: the regimes with figures, the periods that have
them (and how many units reported), the period a page opens on, and the path from the nation
down to a unit."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from app.domain.periods import Period
from app.extensions import db
from app.models import Agency, Aggregate, Level, Regime

from .aggregation import CENTRAL, NATION, _province_of
from .center import scope_units


def regimes_with_data() -> list[Regime]:
    return list(db.session.scalars(select(Regime).order_by(Regime.code)))


def breadcrumb(unit: str) -> list[tuple[str, str]]:
    """(code, name) from the nation down to the unit: Toàn quốc › the province › the agency."""
    trail = [(NATION, "Toàn quốc")]
    if unit in (NATION, ""):
        return trail
    if unit == CENTRAL:
        return trail + [(CENTRAL, "Bộ, ngành trung ương")]
    agency = db.session.scalar(select(Agency).where(Agency.code == unit))
    if agency is None:
        return trail
    if agency.level != Level.PROVINCE.value:
        province = _province_of(agency, date.today())
        if province == CENTRAL:
            trail.append((CENTRAL, "Bộ, ngành trung ương"))
        elif province:
            name = db.session.scalar(select(Agency.name).where(Agency.code == province))
            trail.append((province, name or province))
    return trail + [(agency.code, agency.name)]


@dataclass(frozen=True)
class PeriodChoice:
    period: Period
    reporting: int  # units whose figures the nation's total rests on


def periods_with_data(regime: Regime, *, limit: int = 60) -> list[PeriodChoice]:
    """The regime's periods that have figures, newest first, each with how many units reported
    (one query over the nation's partials)."""
    rows = db.session.execute(select(Aggregate.period_key, func.max(Aggregate.n)).where(
        Aggregate.regime_id == regime.id, Aggregate.unit_code == NATION, Aggregate.basis == "approved")
        .group_by(Aggregate.period_key)).all()
    out = []
    for key, n in rows:
        try:
            out.append(PeriodChoice(Period.parse(key) if not key.startswith("YC") else None, int(n or 0)))
        except Exception:  # noqa: BLE001 — a key no longer of this regime's kind
            continue
    out = [c for c in out if c.period is not None]
    return sorted(out, key=lambda c: c.period, reverse=True)[:limit]


def latest_period(regime: Regime) -> str | None:
    """The period a reporting-center page opens on: the latest one with meaningful coverage — at
    least half as many reporting units as the best of the recent periods — rather than the current
    one, where one unit of 34 may have reported."""
    choices = periods_with_data(regime, limit=24)
    if not choices:
        return db.session.scalar(select(func.max(Aggregate.period_key)).where(Aggregate.regime_id == regime.id))
    best = max(c.reporting for c in choices)
    return next(c.period.key for c in choices if c.reporting * 2 >= best)


def formed_after(unit: str, period: Period, cutoff) -> tuple[date, list[tuple[str, str]]] | None:
    """A unit that did not exist yet in `period` (a province formed on 1 July 2025, say): the day it
    was formed and the old units its data came from — "as reported", its page for that period is
    empty and the reader is pointed to today's units (or to them). None otherwise."""
    agency = db.session.scalar(select(Agency).where(Agency.code == unit))
    if agency is None or agency.valid_from is None or agency.valid_from <= period.cutoff(cutoff)[1]:
        return None
    before = sorted(scope_units(unit) - {unit})
    if not before:
        return None
    names = dict(db.session.execute(select(Agency.code, Agency.name).where(Agency.code.in_(before))).all())
    return agency.valid_from, [(code, names.get(code, code)) for code in before]
