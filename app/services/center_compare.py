"""Like-for-like comparisons at a province computed in PostgreSQL: for sums and averages, the
figure over the agencies that reported in both periods is one grouped query over the periods' values
— one row per indicator comes back instead of every agency's every value (a province's page read
95,000 values for its three periods at 10 million values stored). Ratios, minimums, maximums and
latest values keep the general path (app/domain/aggregation.compare) over their own cells only."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import and_, case, func, select

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
    # one row per (agency, indicator) with its value in each of the three periods — a join of the
    # record versions to their values and a GROUP BY, no self-join: a plan that stays linear
    # whatever the planner believes about the tables' sizes
    per_agency = (select(sv.indicator.label("ind"),
                         *[func.max(case((rv.period_key == k, sv.number))).label(f"v{i}") for i, k in enumerate(keys)])
                  .select_from(rv).join(sv, sv.version_id == rv.version_id)
                  .where(rv.regime_id == regime_id, rv.period_key.in_(keys), rv.tier == tier, rv.basis == basis,
                         rv.province_code.in_(sources), sv.dkey == "", sv.number.is_not(None), sv.indicator.in_(codes))
                  .group_by(rv.agency_code, sv.indicator).subquery())
    v = [per_agency.c[f"v{i}"] for i in range(len(keys))]
    cols = [per_agency.c.ind]
    for i in range(len(keys)):
        cols.append(func.count(v[i]))  # units with a value in period i
    for i in range(1, len(keys)):
        both = and_(v[0].is_not(None), v[i].is_not(None))
        cols += [func.count(case((both, 1))), func.sum(case((both, v[0]))), func.sum(case((both, v[i])))]
    counts: dict[tuple[str, str], int] = {}
    pairs: list[dict] = [{} for _ in keys[1:]]
    for row in db.session.execute(select(*cols).group_by(per_agency.c.ind)):
        ind, rest = row[0], row[1:]
        for i, k in enumerate(keys):
            counts[(k, ind)] = rest[i]
        for j in range(len(keys) - 1):
            common, now, then = rest[len(keys) + 3 * j: len(keys) + 3 * j + 3]
            pairs[j][ind] = (common, now, then)
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
