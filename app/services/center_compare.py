"""Like-for-like comparisons at a province computed in PostgreSQL: for sums and averages, the
figure over the agencies that reported in both periods is a grouped join of the two periods' values
— one row per indicator comes back instead of every agency's every value (a province's page read
95,000 values for its three periods at 10 million values stored). Ratios, minimums, maximums and
latest values keep the general path (app/domain/aggregation.compare) over their own cells only."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from app.domain import aggregation as rules
from app.domain.catalogue import Catalogue, RegimeDef
from app.domain.numbers import normalise
from app.extensions import db
from app.models import RecordVersion, SubmissionValue

ENABLED = True  # tests compare both paths
IN_SQL = ("sum", "average")


def in_sql(definition: RegimeDef, cat: Catalogue) -> list[str]:
    """The indicators whose like-for-like figures the database computes (PostgreSQL only)."""
    if not ENABLED or db.engine.dialect.name != "postgresql":
        return []
    return [c for c in definition.indicator_codes if cat.indicators[c].aggregation in IN_SQL and cat.indicators[c].value_type != "text"]


def province(regime_id: int, keys: list[str], tier: int, basis: str, sources: list[str], codes: list[str],
             cat: Catalogue) -> dict[str, tuple[rules.Comparison, rules.Comparison]]:
    """indicator → (against the previous period, against the same period last year), over the
    agencies of `sources` that reported the indicator in both periods (as reported)."""
    if not codes:
        return {}
    rv, sv = RecordVersion, SubmissionValue
    counts: dict[tuple[str, str], int] = {}
    for key, ind, n in db.session.execute(
            select(rv.period_key, sv.indicator, func.count()).join(sv, sv.version_id == rv.version_id)
            .where(rv.regime_id == regime_id, rv.period_key.in_(keys), rv.tier == tier, rv.basis == basis,
                   rv.province_code.in_(sources), sv.dkey == "", sv.number.is_not(None), sv.indicator.in_(codes))
            .group_by(rv.period_key, sv.indicator)):
        counts[(key, ind)] = n
    pairs = []
    for before in keys[1:]:
        a_rv, a_sv, b_rv, b_sv = aliased(rv), aliased(sv), aliased(rv), aliased(sv)
        rows = db.session.execute(
            select(a_sv.indicator, func.count(), func.sum(a_sv.number), func.sum(b_sv.number))
            .select_from(a_rv).join(a_sv, a_sv.version_id == a_rv.version_id)
            .join(b_rv, and_(b_rv.regime_id == a_rv.regime_id, b_rv.agency_code == a_rv.agency_code, b_rv.basis == a_rv.basis,
                             b_rv.tier == a_rv.tier, b_rv.period_key == before, b_rv.province_code.in_(sources)))
            .join(b_sv, and_(b_sv.version_id == b_rv.version_id, b_sv.indicator == a_sv.indicator, b_sv.dkey == a_sv.dkey))
            .where(a_rv.regime_id == regime_id, a_rv.period_key == keys[0], a_rv.tier == tier, a_rv.basis == basis,
                   a_rv.province_code.in_(sources), a_sv.dkey == "", a_sv.number.is_not(None), b_sv.number.is_not(None),
                   a_sv.indicator.in_(codes))
            .group_by(a_sv.indicator)).all()
        pairs.append({ind: (n, now, then) for ind, n, now, then in rows})
    out = {}
    for code in codes:
        ind = cat.indicators[code]
        out[code] = tuple(_comparison(ind, *pair.get(code, (0, None, None)), counts.get((keys[0], code), 0),
                                      counts.get((before, code), 0)) for pair, before in zip(pairs, keys[1:], strict=True))
    return out


def _comparison(ind, common: int, now: Decimal | None, then: Decimal | None, now_units: int, before_units: int) -> rules.Comparison:
    cur = bef = None
    if common:
        cur, bef = normalise(Decimal(now)), normalise(Decimal(then))
        if ind.aggregation == "average":
            cur, bef = normalise(cur / common), normalise(bef / common)
    points = rules.in_points(ind)
    delta = (normalise(cur - bef) if cur is not None and bef is not None else None) if points else rules.change(cur, bef)
    return rules.Comparison(cur, bef, delta, points, common, now_units, before_units)
