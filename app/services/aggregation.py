"""The reporting center's data: which version of each report counts, and the partial aggregates
kept up to date in the transaction that changes a submission (and rebuilt on demand). The views
read from them — national, province, agency; trend; completeness — are in center.py.

Partials live per province (as reported), per "BO" (ministries and other central agencies) and
for the nation ("CP"). A province's partials come from one GROUP BY over its agencies' values; the
nation's from one GROUP BY over the provinces' partials — never a query per agency.
"""
from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    Float,
    cast,
    delete,
    func,
    insert,
    select,
    text,
    update,
)

from app.domain.aggregation import Partial
from app.domain.errors import DomainError
from app.domain.periods import Period
from app.extensions import db
from app.models import (
    Agency,
    Aggregate,
    Level,
    RecordVersion,
    Regime,
    Submission,
    SubmissionValue,
    SubmissionVersion,
)

from . import center_cache, quality_store
from .catalogue import regime_definition

NATION = "CP"
CENTRAL = "BO"  # ministries and other central agencies, grouped beside the provinces
BASES = ("approved", "latest")


def as_number(col):
    """Numbers are exact NUMERIC on PostgreSQL and canonical text on SQLite: compare and add them as numbers."""
    return cast(col, Float) if db.engine.dialect.name == "sqlite" else col


# ---------------------------------------------------------------------------------- maintaining
def _province_of(agency: Agency, day: date) -> str:
    if agency.level == Level.PROVINCE.value:
        return agency.code
    if agency.level in (Level.CENTRAL.value, Level.MINISTRY.value):
        return CENTRAL
    parent = agency.parent_on(day)
    while parent is not None and parent.level != Level.PROVINCE.value:
        parent = parent.parent_on(day)
    return parent.code if parent is not None else CENTRAL


def period_day(sub: Submission) -> date:
    if sub.request is not None:
        return sub.request.data_to
    definition, _ = regime_definition(sub.latest.regime_version if sub.latest else sub.regime.current_version)
    try:
        return Period.parse(sub.period_key).cutoff(definition.cutoff)[1]
    except DomainError:
        return date.today()


def _records(sub: Submission) -> dict[str, SubmissionVersion | None]:
    """The version that counts for each basis: the approved one; the latest submitted one (a
    returned or superseded version never counts)."""
    approved = sub.version(sub.approved_version) if sub.approved_version else None
    sealed = [v for v in sub.versions if v.sealed]
    latest = sealed[-1] if sealed and sealed[-1].status in ("submitted", "approved") else approved
    return {"approved": approved, "latest": latest}


def lock_period(regime_id: int, period_key: str) -> None:
    """Take the (regime, period) lock until the end of the transaction. Two reports of the same
    period submitted at once would otherwise each recompute their province and the nation without
    the other's uncommitted figures (a lost update, or a duplicate key). PostgreSQL: an advisory
    transaction lock; SQLite already lets one writer at a time."""
    if db.session.get_bind().dialect.name == "postgresql":
        digest = hashlib.blake2b(f"aggregates:{regime_id}:{period_key}".encode(), digest_size=8).digest()
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": int.from_bytes(digest, "big", signed=True)})


def refresh(sub: Submission) -> None:
    """Bring the reporting center up to date with one submission, in the caller's transaction."""
    lock_period(sub.regime_id, sub.period_key)
    center_cache.bump(sub.regime_id, sub.period_key)
    day = period_day(sub)
    province = _province_of(sub.agency, day)
    counted = dict(db.session.execute(select(RecordVersion.basis, RecordVersion.version_id).where(
        RecordVersion.regime_id == sub.regime_id, RecordVersion.period_key == sub.period_key,
        RecordVersion.agency_code == sub.agency.code)).all())
    for basis, version in _records(sub).items():
        if counted.get(basis) == (version.id if version is not None else None):
            continue  # this basis still counts the same version (a submission leaves "approved" as it was)
        db.session.execute(delete(RecordVersion).where(RecordVersion.regime_id == sub.regime_id, RecordVersion.period_key == sub.period_key,
                                                       RecordVersion.basis == basis, RecordVersion.agency_code == sub.agency.code))
        if version is not None:
            db.session.add(RecordVersion(regime_id=sub.regime_id, period_key=sub.period_key, basis=basis, tier=sub.tier,
                                         agency_code=sub.agency.code, province_code=province, version_id=version.id,
                                         reported_at=version.submitted_at))
        db.session.flush()
        if basis not in counted and version is not None:
            _add(sub.regime_id, sub.period_key, sub.tier, basis, province, version)  # the common case: a first report
        else:
            recompute(sub.regime_id, sub.period_key, sub.tier, basis, units=[province])
        if basis == quality_store.BASIS:  # the values' features against their history, for the outlier pass
            quality_store.refresh(sub.regime_id, sub.period_key, sub.tier, sub.agency.code)


def _add(regime_id: int, period_key: str, tier: int, basis: str, province: str, version: SubmissionVersion) -> None:
    """A report counted for the first time: merge its values into its province's and the nation's
    partials (a few hundred rows) instead of recomputing the province from every report in it —
    the deadline-day load test held the roll-up lock too long with the full recompute
    (docs/performance.md). Gives exactly what recompute gives (tests compare with a rebuild)."""
    regime = db.session.get(Regime, regime_id)
    definition, cat = regime_definition(regime.current_version)
    keeps_latest = {c for c in definition.indicator_codes if cat.indicators[c].aggregation == "latest"}
    values = db.session.execute(select(SubmissionValue.indicator, SubmissionValue.dkey, SubmissionValue.number)
                                .where(SubmissionValue.version_id == version.id, SubmissionValue.number.is_not(None))).all()
    if not values:
        return
    a = Aggregate
    scope = [a.regime_id == regime_id, a.period_key == period_key, a.tier == tier, a.basis == basis]
    # plain rows and one executemany each way, not hundreds of ORM objects (a third of a submit's CPU)
    existing = {(unit, ind, key): (row_id, Partial(Decimal(n), total, lo, hi, latest_at, latest))
                for row_id, unit, ind, key, n, total, lo, hi, latest_at, latest in db.session.execute(
                    select(a.id, a.unit_code, a.indicator, a.dkey, a.n, a.total, a.minimum, a.maximum, a.latest_at, a.latest)
                    .where(*scope, a.unit_code.in_([province, NATION]), a.indicator.in_({i for i, _k, _n in values})))}
    inserts, updates = [], []
    for indicator, dkey, number in values:
        at = version.submitted_at if indicator in keeps_latest else None
        for unit in (province, NATION):
            row_id, old = existing.get((unit, indicator, dkey), (None, Partial()))
            new = old.merge(Partial(Decimal(1), number, number, number, at, number if at else None))
            figures = {"n": int(new.n), "total": _dec(new.total), "minimum": _dec(new.minimum), "maximum": _dec(new.maximum),
                       "latest_at": new.latest_at, "latest": _dec(new.latest) if new.latest_at else None}
            if row_id is None:
                inserts.append({"regime_id": regime_id, "period_key": period_key, "tier": tier, "basis": basis, "unit_code": unit,
                                "indicator": indicator, "dkey": dkey} | figures)
            else:
                updates.append({"id": row_id} | figures)
    if inserts:
        db.session.execute(insert(Aggregate), inserts)
    if updates:
        db.session.execute(update(Aggregate), updates)  # ORM bulk UPDATE by primary key
    db.session.flush()


def recompute(regime_id: int, period_key: str, tier: int, basis: str, units: list[str] | None) -> None:
    """Partials of the given units (all when None) from the raw values, then the nation's."""
    scope = [Aggregate.regime_id == regime_id, Aggregate.period_key == period_key, Aggregate.tier == tier, Aggregate.basis == basis]
    db.session.execute(delete(Aggregate).where(*scope, Aggregate.unit_code.in_(units) if units else Aggregate.unit_code != NATION))
    rv, sv = RecordVersion, SubmissionValue
    where = [rv.regime_id == regime_id, rv.period_key == period_key, rv.tier == tier, rv.basis == basis, sv.number.is_not(None)]
    if units:
        where.append(rv.province_code.in_(units))
    rows = db.session.execute(
        select(rv.province_code, sv.indicator, sv.dkey, func.count(sv.number), func.sum(as_number(sv.number)),
               func.min(as_number(sv.number)), func.max(as_number(sv.number)), func.max(rv.reported_at))
        .join(sv, sv.version_id == rv.version_id).where(*where).group_by(rv.province_code, sv.indicator, sv.dkey)).all()
    latest = _latest_values(regime_id, period_key, tier, basis, units)
    base = {"regime_id": regime_id, "period_key": period_key, "tier": tier, "basis": basis}
    values = [base | {"unit_code": u, "indicator": i, "dkey": k, "n": n, "total": _dec(t), "minimum": _dec(lo), "maximum": _dec(hi),
                      "latest_at": latest.get((u, i, k), (None, None))[0], "latest": latest.get((u, i, k), (None, None))[1]}
              for u, i, k, n, t, lo, hi, _at in rows]
    for i in range(0, len(values), 2000):
        db.session.execute(insert(Aggregate), values[i:i + 2000])
    _recompute_nation(regime_id, period_key, tier, basis)


def _latest_values(regime_id, period_key, tier, basis, units) -> dict:
    """(unit, indicator, key) → (time, value) of the most recent report, for indicators that
    aggregate as "latest" (a window query; skipped when the regime has none)."""
    regime = db.session.get(Regime, regime_id)
    definition, cat = regime_definition(regime.current_version)
    wanted = [c for c in definition.indicator_codes if cat.indicators[c].aggregation == "latest"]
    if not wanted:
        return {}
    rv, sv = RecordVersion, SubmissionValue
    ranked = (select(rv.province_code, sv.indicator, sv.dkey, rv.reported_at, sv.number,
                     func.row_number().over(partition_by=(rv.province_code, sv.indicator, sv.dkey),
                                            order_by=rv.reported_at.desc()).label("rk"))
              .join(sv, sv.version_id == rv.version_id)
              .where(rv.regime_id == regime_id, rv.period_key == period_key, rv.tier == tier, rv.basis == basis,
                     sv.indicator.in_(wanted), sv.number.is_not(None), *([rv.province_code.in_(units)] if units else []))).subquery()
    rows = db.session.execute(select(ranked.c.province_code, ranked.c.indicator, ranked.c.dkey, ranked.c.reported_at, ranked.c.number)
                              .where(ranked.c.rk == 1)).all()
    return {(u, i, k): (at, n) for u, i, k, at, n in rows}


def _recompute_nation(regime_id: int, period_key: str, tier: int, basis: str) -> None:
    a = Aggregate
    scope = [a.regime_id == regime_id, a.period_key == period_key, a.tier == tier, a.basis == basis]
    db.session.execute(delete(a).where(*scope, a.unit_code == NATION))
    rows = db.session.execute(select(a.indicator, a.dkey, func.sum(a.n), func.sum(as_number(a.total)), func.min(as_number(a.minimum)),
                                     func.max(as_number(a.maximum))).where(*scope, a.unit_code != NATION)
                              .group_by(a.indicator, a.dkey)).all()
    latest = {}
    for ind, key, at, val in db.session.execute(select(a.indicator, a.dkey, a.latest_at, a.latest)
                                                .where(*scope, a.unit_code != NATION, a.latest_at.is_not(None))):
        if (ind, key) not in latest or at > latest[(ind, key)][0]:
            latest[(ind, key)] = (at, val)
    base = {"regime_id": regime_id, "period_key": period_key, "tier": tier, "basis": basis, "unit_code": NATION}
    values = [base | {"indicator": i, "dkey": k, "n": n, "total": _dec(t), "minimum": _dec(lo), "maximum": _dec(hi),
                      "latest_at": latest.get((i, k), (None, None))[0], "latest": latest.get((i, k), (None, None))[1]}
              for i, k, n, t, lo, hi in rows]
    if values:
        db.session.execute(insert(Aggregate), values)


def _dec(v) -> Decimal | None:
    if v is None:
        return None
    from app.domain.numbers import normalise

    return normalise(Decimal(str(v)) if not isinstance(v, Decimal) else v)
