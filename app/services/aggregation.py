"""The reporting center's data: which version of each report counts, and the partial aggregates
kept up to date in the transaction that changes a submission (and rebuilt on demand). The views
read from them — national, province, agency; trend; completeness — are in center.py.

Partials live per province (as reported), per "BO" (ministries and other central agencies) and
for the nation ("CP"). A province's partials come from one GROUP BY over its agencies' values; the
nation's from one GROUP BY over the provinces' partials — never a query per agency.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    Float,
    and_,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy.orm import aliased

from app import faults
from app.domain.aggregation import Partial
from app.domain.errors import DomainError
from app.domain.periods import Period
from app.extensions import db
from app.models import (
    Agency,
    AgencyParent,
    Aggregate,
    Level,
    RecordVersion,
    Regime,
    Submission,
    SubmissionValue,
    SubmissionVersion,
)

from . import agencies as agency_svc
from . import center_cache, quality_store
from .bulk import insert_many
from .catalogue import regime_definition
from .errors import NotFound

NATION = "CP"
CENTRAL = "BO"  # ministries and other central agencies, grouped beside the provinces
BASES = ("approved", "latest")


def _num(col):
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


def _period_day(sub: Submission) -> date:
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


def _serialize(regime_id: int, period_key: str) -> None:
    """Take the (regime, period) lock until the end of the transaction. Two reports of the same
    period submitted at once would otherwise each recompute their province and the nation without
    the other's uncommitted figures (a lost update, or a duplicate key). PostgreSQL: an advisory
    transaction lock; SQLite already lets one writer at a time."""
    if db.session.get_bind().dialect.name == "postgresql":
        digest = hashlib.blake2b(f"aggregates:{regime_id}:{period_key}".encode(), digest_size=8).digest()
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": int.from_bytes(digest, "big", signed=True)})


def refresh(sub: Submission) -> None:
    """Bring the reporting center up to date with one submission, in the caller's transaction."""
    _serialize(sub.regime_id, sub.period_key)
    center_cache.bump(sub.regime_id, sub.period_key)
    day = _period_day(sub)
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
            _recompute(sub.regime_id, sub.period_key, sub.tier, basis, units=[province])
        if basis == quality_store.BASIS:  # the values' features against their history, for the outlier pass
            quality_store.refresh(sub.regime_id, sub.period_key, sub.tier, sub.agency.code)


def _add(regime_id: int, period_key: str, tier: int, basis: str, province: str, version: SubmissionVersion) -> None:
    """A report counted for the first time: merge its values into its province's and the nation's
    partials (a few hundred rows) instead of recomputing the province from every report in it —
    the deadline-day load test held the roll-up lock too long with the full recompute
    (docs/performance.md). Gives exactly what _recompute gives (tests compare with a rebuild)."""
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


def _recompute(regime_id: int, period_key: str, tier: int, basis: str, units: list[str] | None, nation: bool = True) -> None:
    """Partials of the given units (all when None) from the raw values, then the nation's."""
    scope = [Aggregate.regime_id == regime_id, Aggregate.period_key == period_key, Aggregate.tier == tier, Aggregate.basis == basis]
    db.session.execute(delete(Aggregate).where(*scope, Aggregate.unit_code.in_(units) if units else Aggregate.unit_code != NATION))
    rv, sv = RecordVersion, SubmissionValue
    where = [rv.regime_id == regime_id, rv.period_key == period_key, rv.tier == tier, rv.basis == basis, sv.number.is_not(None)]
    if units:
        where.append(rv.province_code.in_(units))
    rows = db.session.execute(
        select(rv.province_code, sv.indicator, sv.dkey, func.count(sv.number), func.sum(_num(sv.number)),
               func.min(_num(sv.number)), func.max(_num(sv.number)), func.max(rv.reported_at))
        .join(sv, sv.version_id == rv.version_id).where(*where).group_by(rv.province_code, sv.indicator, sv.dkey)).all()
    latest = _latest_values(regime_id, period_key, tier, basis, units)
    base = {"regime_id": regime_id, "period_key": period_key, "tier": tier, "basis": basis}
    values = [base | {"unit_code": u, "indicator": i, "dkey": k, "n": n, "total": _dec(t), "minimum": _dec(lo), "maximum": _dec(hi),
                      "latest_at": latest.get((u, i, k), (None, None))[0], "latest": latest.get((u, i, k), (None, None))[1]}
              for u, i, k, n, t, lo, hi, _at in rows]
    for i in range(0, len(values), 2000):
        db.session.execute(insert(Aggregate), values[i:i + 2000])
    if nation:
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
    rows = db.session.execute(select(a.indicator, a.dkey, func.sum(a.n), func.sum(_num(a.total)), func.min(_num(a.minimum)),
                                     func.max(_num(a.maximum))).where(*scope, a.unit_code != NATION)
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


@dataclass
class RebuildSummary:
    scopes: int = 0
    records: int = 0
    aggregates: int = 0


def rebuild(*, regime: str | None = None, period: str | None = None,
            progress: Callable[[int, int], None] = lambda done, total: None) -> RebuildSummary:
    """Recompute record versions and partials from the raw values, idempotently (all regimes and
    periods when none is given). Per regime: one GROUP BY over the approved values of all its
    periods, partials of the "latest" basis copied where they are the same reports, one GROUP BY
    for the nation."""
    subs_q = select(Submission.regime_id, Submission.period_key).distinct()
    if regime:
        r = db.session.scalar(select(Regime).where(Regime.code == regime))
        if r is None:
            raise NotFound(f"Không có chế độ báo cáo mã “{regime}”")
        subs_q = subs_q.where(Submission.regime_id == r.id)
    if period:
        subs_q = subs_q.where(Submission.period_key == period)
    scopes = db.session.execute(subs_q.order_by(Submission.regime_id, Submission.period_key)).all()
    by_regime: dict[int, list[str]] = defaultdict(list)
    for regime_id, key in scopes:
        by_regime[regime_id].append(key)
    summary = RebuildSummary()
    total = len(scopes)
    progress(0, total)
    done = 0
    for regime_id, keys in by_regime.items():
        for key in sorted(keys):  # the same locks as refresh(), so a rebuild and a submission wait for each other
            _serialize(regime_id, key)
            center_cache.bump(regime_id, key)
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            db.session.execute(delete(RecordVersion).where(RecordVersion.regime_id == regime_id, RecordVersion.period_key.in_(chunk)))
            db.session.execute(delete(Aggregate).where(Aggregate.regime_id == regime_id, Aggregate.period_key.in_(chunk)))
        for key in keys:
            summary.records += _rebuild_records(regime_id, key)
            done += 1
            progress(done, total)
        if _has_latest_indicators(regime_id):
            for key in keys:  # the window query for "latest" runs per period
                for tier, basis in db.session.execute(select(RecordVersion.tier, RecordVersion.basis).distinct().where(
                        RecordVersion.regime_id == regime_id, RecordVersion.period_key == key)).all():
                    _recompute(regime_id, key, tier, basis, units=None)
        else:
            _rebuild_partials(regime_id, keys)
        faults.point("rebuild.regime")  # crash tests: one regime recomputed, not yet committed
        db.session.commit()
        summary.scopes += len(keys)
    summary.aggregates = db.session.scalar(select(func.count()).select_from(Aggregate)) or 0
    return summary


def _has_latest_indicators(regime_id: int) -> bool:
    regime = db.session.get(Regime, regime_id)
    definition, cat = regime_definition(regime.current_version)
    return any(cat.indicators[c].aggregation == "latest" for c in definition.indicator_codes)


def _rebuild_partials(regime_id: int, keys: list[str]) -> None:
    rv, sv, a = RecordVersion, SubmissionValue, Aggregate
    in_scope = rv.period_key.in_(keys) if len(keys) <= 500 else true()
    in_period = a.period_key.in_(keys) if len(keys) <= 500 else true()
    grouped = (select(literal(regime_id), rv.period_key, rv.tier, literal("approved"), rv.province_code, sv.indicator, sv.dkey,
                      func.count(sv.number), func.sum(_num(sv.number)), func.min(_num(sv.number)), func.max(_num(sv.number)))
               .join(sv, sv.version_id == rv.version_id)
               .where(rv.regime_id == regime_id, rv.basis == "approved", in_scope, sv.number.is_not(None))
               .group_by(rv.period_key, rv.tier, rv.province_code, sv.indicator, sv.dkey))
    columns = ["regime_id", "period_key", "tier", "basis", "unit_code", "indicator", "dkey", "n", "total", "minimum", "maximum"]
    source = _grouped_in_parallel(grouped, columns)
    # straight from the GROUP BY into the table: no round trip through Python
    db.session.execute(insert(a).from_select(columns, source if source is not None else grouped))
    # "latest" = "approved" wherever the same versions count; recompute only where they differ
    records: dict[tuple, dict[str, set]] = defaultdict(lambda: {"approved": set(), "latest": set()})
    for p, t, u, basis, agency, vid in db.session.execute(
            select(rv.period_key, rv.tier, rv.province_code, rv.basis, rv.agency_code, rv.version_id)
            .where(rv.regime_id == regime_id, in_scope)).all():
        records[(p, t, u)][basis].add((agency, vid))
    differ = [key for key, b in records.items() if b["approved"] != b["latest"]]
    if any(b["approved"] == b["latest"] and b["approved"] for b in records.values()):
        # every approved partial but those of a (period, tier, province) where the versions differ
        if source is not None:
            copied = select(*[source.c[c] for c in columns[:3]], literal("latest"), *[source.c[c] for c in columns[4:]])
            where = [tuple_(source.c.period_key, source.c.tier, source.c.unit_code).not_in(differ)] if differ else []
        else:
            copied = select(a.regime_id, a.period_key, a.tier, literal("latest"), a.unit_code, a.indicator, a.dkey, a.n, a.total, a.minimum,
                            a.maximum).where(a.regime_id == regime_id, a.basis == "approved", in_period)
            where = [tuple_(a.period_key, a.tier, a.unit_code).not_in(differ)] if differ else []
        db.session.execute(insert(a).from_select(columns, copied.where(*where)))
    for p, t, u in differ:
        _recompute(regime_id, p, t, "latest", units=[u], nation=False)
    # the nation: one GROUP BY over the provinces' partials of every period, tier and basis
    db.session.execute(delete(a).where(a.regime_id == regime_id, a.period_key.in_(keys) if len(keys) <= 500 else true(),
                                       a.unit_code == NATION))
    nation = select(a.regime_id, a.period_key, a.tier, a.basis, literal(NATION), a.indicator, a.dkey, func.sum(a.n),
                    func.sum(_num(a.total)), func.min(_num(a.minimum)), func.max(_num(a.maximum))).where(
        a.regime_id == regime_id, a.period_key.in_(keys) if len(keys) <= 500 else true(), a.unit_code != NATION).group_by(
        a.regime_id, a.period_key, a.tier, a.basis, a.indicator, a.dkey)
    db.session.execute(insert(a).from_select(["regime_id", "period_key", "tier", "basis", "unit_code", "indicator", "dkey", "n", "total",
                                              "minimum", "maximum"], nation))


def _grouped_in_parallel(grouped, columns: list[str]):
    """PostgreSQL: the GROUP BY into a temporary table (CREATE TABLE AS may run in parallel, an
    INSERT … SELECT never does), with the memory to hash ten million values and no JIT compiling
    (seconds of it for one query); the table to insert from. None on SQLite."""
    if db.session.get_bind().dialect.name != "postgresql":
        return None
    from sqlalchemy import column
    from sqlalchemy import table as table_

    db.session.execute(text("SET LOCAL work_mem = '256MB'"))
    db.session.execute(text("SET LOCAL jit = off"))
    db.session.execute(text("DROP TABLE IF EXISTS rebuild_partials"))
    sql = grouped.compile(dialect=db.session.get_bind().dialect, compile_kwargs={"render_postcompile": True})
    db.session.connection().exec_driver_sql(f"CREATE TEMPORARY TABLE rebuild_partials ({', '.join(columns)}) ON COMMIT DROP AS {sql}",
                                            sql.params)
    return table_("rebuild_partials", *[column(c) for c in columns])


def _rebuild_records(regime_id: int, period_key: str) -> int:
    """Record versions of every submission of one (regime, period) — set-based: two queries."""
    subs = db.session.execute(select(Submission.id, Submission.agency_id, Submission.tier, Submission.approved_version, Agency.code)
                              .join(Agency, Agency.id == Submission.agency_id)
                              .where(Submission.regime_id == regime_id, Submission.period_key == period_key)).all()
    if not subs:
        return 0
    first = db.session.scalar(select(Submission).where(Submission.id == subs[0][0]))
    day = _period_day(first)
    versions = db.session.execute(
        select(SubmissionVersion.submission_id, SubmissionVersion.number, SubmissionVersion.id, SubmissionVersion.status,
               SubmissionVersion.submitted_at)
        .join(Submission, Submission.id == SubmissionVersion.submission_id)
        .where(Submission.regime_id == regime_id, Submission.period_key == period_key, SubmissionVersion.seal_hash.is_not(None))
        .order_by(SubmissionVersion.submission_id, SubmissionVersion.number)).all()
    by_sub: dict[int, list] = defaultdict(list)
    for row in versions:
        by_sub[row[0]].append(row)
    provinces = _provinces_on(day)
    rows = []
    for sid, agency_id, tier, approved_version, code in subs:
        sealed = by_sub.get(sid, [])
        approved = next((v for v in sealed if v[1] == approved_version), None)
        latest = sealed[-1] if sealed and sealed[-1][3] in ("submitted", "approved") else approved
        province = provinces.get(agency_id, CENTRAL)
        for basis, v in (("approved", approved), ("latest", latest)):
            if v is not None:
                rows.append({"regime_id": regime_id, "period_key": period_key, "basis": basis, "tier": tier,
                             "agency_code": code, "province_code": province, "version_id": v[2], "reported_at": v[4]})
    insert_many(RecordVersion.__table__, rows)
    return len(rows)


def _provinces_on(day: date) -> dict[int, str]:
    """agency id → its province code on `day` (itself for a province, "BO" for central agencies)."""
    parent = aliased(Agency)
    rows = db.session.execute(select(Agency.id, Agency.code, Agency.level, parent.code, parent.level)
                              .join(AgencyParent, and_(AgencyParent.child_id == Agency.id, agency_svc.valid_on_clause(AgencyParent, day)),
                                    isouter=True)
                              .join(parent, parent.id == AgencyParent.parent_id, isouter=True)).all()
    out = {}
    for aid, code, level, pcode, plevel in rows:
        if level == Level.PROVINCE.value:
            out[aid] = code
        elif plevel == Level.PROVINCE.value:
            out[aid] = pcode
        else:
            out.setdefault(aid, CENTRAL)
    return out
