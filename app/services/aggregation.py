"""The reporting center's data: which version of each report counts, partial aggregates kept up
to date in the transaction that changes a submission, and the views read from them (national,
province, agency; trend; completeness), as reported or re-attributed to today's units.

Partials live per province (as reported), per "BO" (ministries and other central agencies) and
for the nation ("CP"). A province's partials come from one GROUP BY over its agencies' values; the
nation's from one GROUP BY over the provinces' partials — never a query per agency.
"""
from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    Float,
    Numeric,
    String,
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
    type_coerce,
    update,
)
from sqlalchemy.orm import aliased

from app import faults
from app.domain import aggregation as rules
from app.domain.aggregation import Partial
from app.domain.catalogue import Catalogue, IndicatorDef, RegimeDef
from app.domain.errors import DomainError
from app.domain.hierarchy import obligations
from app.domain.periods import Period
from app.extensions import db
from app.models import (
    Agency,
    AgencyParent,
    Aggregate,
    Level,
    RecordVersion,
    Regime,
    RegimeVersion,
    Role,
    Submission,
    SubmissionValue,
    SubmissionVersion,
    User,
)

from . import agencies as agency_svc
from .catalogue import regime_definition
from .errors import Forbidden, Invalid, NotFound

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
    grouped = (select(literal(regime_id), rv.period_key, rv.tier, literal("approved"), rv.province_code, sv.indicator, sv.dkey,
                      func.count(sv.number), func.sum(_num(sv.number)), func.min(_num(sv.number)), func.max(_num(sv.number)))
               .join(sv, sv.version_id == rv.version_id)
               .where(rv.regime_id == regime_id, rv.basis == "approved", in_scope, sv.number.is_not(None))
               .group_by(rv.period_key, rv.tier, rv.province_code, sv.indicator, sv.dkey))
    # straight from the GROUP BY into the table: no round trip through Python
    db.session.execute(insert(a).from_select(["regime_id", "period_key", "tier", "basis", "unit_code", "indicator", "dkey", "n", "total",
                                              "minimum", "maximum"], grouped))
    # "latest" = "approved" wherever the same versions count; recompute only where they differ
    records: dict[tuple, dict[str, set]] = defaultdict(lambda: {"approved": set(), "latest": set()})
    for p, t, u, basis, agency, vid in db.session.execute(
            select(rv.period_key, rv.tier, rv.province_code, rv.basis, rv.agency_code, rv.version_id)
            .where(rv.regime_id == regime_id, in_scope)).all():
        records[(p, t, u)][basis].add((agency, vid))
    same = [key for key, b in records.items() if b["approved"] == b["latest"] and b["approved"]]
    differ = [key for key, b in records.items() if b["approved"] != b["latest"]]
    cols = [a.regime_id, a.period_key, a.tier, a.unit_code, a.indicator, a.dkey, a.n, a.total, a.minimum, a.maximum]
    if same:
        copied = select(*cols[:3], literal("latest"), *cols[3:]).where(
            a.regime_id == regime_id, a.basis == "approved", a.period_key.in_(sorted({k[0] for k in same})),
            tuple_(a.period_key, a.tier, a.unit_code).in_(same))
        db.session.execute(insert(a).from_select(["regime_id", "period_key", "tier", "basis", "unit_code", "indicator", "dkey", "n", "total",
                                                  "minimum", "maximum"], copied))
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
    for i in range(0, len(rows), 5000):
        db.session.execute(insert(RecordVersion), rows[i:i + 5000])
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
    _check_unit(user, unit)
    return unit


def _check_unit(user: User, unit: str) -> None:
    scope = scope_of(user)
    if scope is None or unit == scope:
        return
    agency = db.session.scalar(select(Agency).where(Agency.code == unit))
    if agency is not None and _province_of(agency, date.today()) == scope:
        return
    raise Forbidden(f"Bạn chỉ xem được số liệu của {scope}")


# ---------------------------------------------------------------------------------------- views
@dataclass
class Row:
    indicator: IndicatorDef
    depth: int
    values: dict[str, Decimal | None]  # breakdown key → value
    previous: Decimal | None
    last_year: Decimal | None
    reporting: Decimal
    change_previous: Decimal | None = None
    change_last_year: Decimal | None = None


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
           extremes: bool = True) -> dict[tuple[str, str], dict]:
    """(period, unit) → {(indicator, key): Partial} from the stored partials (one query).
    Without `extremes` only counts and sums are read (enough for sum, average and ratio)."""
    a = Aggregate
    out: dict[tuple[str, str], dict] = defaultdict(dict)
    cols = [a.period_key, a.unit_code, a.indicator, a.dkey, a.n, _raw(a.total)]
    if extremes:
        cols += [_raw(a.minimum), _raw(a.maximum), a.latest_at, _raw(a.latest)]
    rows = db.session.execute(select(*cols).where(a.regime_id == regime_id, a.tier == tier, a.basis == basis,
                                                  a.period_key.in_(list(period_keys)), a.unit_code.in_(list(units)))).all()
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
         basis: str = "approved", tier: int | None = None) -> View:
    """The figures of one unit (the nation, a province, an agency) for a regime and period, with
    the units one level down, as reported or in today's units."""
    if units not in ("as_reported", "current"):
        raise Invalid("units phải là as_reported hoặc current")
    if basis not in BASES:
        raise Invalid("basis phải là approved hoặc latest")
    unit = _unit_for(user, unit)
    r = _regime(regime)
    version = r.current_version
    definition, cat = regime_definition(version)
    p = _period(definition, period)
    tiers = _tiers(r.id, p.key, basis) or [0]
    tier = tier if tier is not None and tier in tiers else tiers[0]
    keys = [p.key, p.previous().key, p.same_period_last_year().key]
    ext = _needs_extremes(definition, cat)
    if unit == NATION:
        child_units = _child_units_nation(r.id, p.key, tier, basis)
        lineage = _lineage(child_units) if units == "current" else {}
        cells = _cells(r.id, keys, tier, basis, [NATION], ext)
        now, prev, ly = (cells.get((k, NATION), {}) for k in keys)
        child_cells = _cells(r.id, [p.key], tier, basis, child_units, ext)
        by_unit = {u: child_cells.get((p.key, u), {}) for u in child_units}
        if units == "current":
            by_unit = rules.reattribute(by_unit, lineage)
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
            children = _children_agencies(r.id, p.key, tier, basis, sources, definition, cat, lineage, unit)
            unit_name = agency.name if agency else "Bộ, ngành trung ương"
        else:
            now, prev, ly = (_agency_cells(r.id, k, basis, unit) for k in keys)
            children = []
            unit_name = agency.name
    rows = _rows(definition, cat, now, prev, ly)
    expected, reporting = _expected(r, definition, p, tier, unit, now)
    form = definition.forms[0] if definition.forms else None
    columns = [("", "Tổng số")]
    if form and form.disaggregations:
        from app.domain.layout import Layout

        columns = [(c.key, c.label) for c in Layout(definition, cat).forms[0].columns]
    return View(r, version, definition, cat, p, unit, unit_name, units, basis, tier, tiers, rows, children, expected, reporting, columns)


def _child_units_nation(regime_id, period_key, tier, basis) -> list[str]:
    return sorted(db.session.scalars(select(Aggregate.unit_code).distinct().where(
        Aggregate.regime_id == regime_id, Aggregate.period_key == period_key, Aggregate.tier == tier, Aggregate.basis == basis,
        Aggregate.unit_code != NATION)))


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
    return sorted(out, key=lambda c: (c.code == CENTRAL, c.name))


def _children_agencies(regime_id, period_key, tier, basis, sources, definition, cat, lineage, unit) -> list[Child]:
    rv, sv = RecordVersion, SubmissionValue
    rows = db.session.execute(select(rv.agency_code, rv.province_code, sv.indicator, sv.number).join(sv, sv.version_id == rv.version_id)
                              .where(rv.regime_id == regime_id, rv.period_key == period_key, rv.tier == tier, rv.basis == basis,
                                     rv.province_code.in_(sources), sv.dkey == "", sv.number.is_not(None))).all()
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
        vals = {c: rules.value(cat.indicators[c], cells) for c in definition.indicator_codes}
        if share is not None and share != 1.0:
            vals = {c: (v * Decimal(str(share)) if v is not None and cat.indicators[c].aggregation == "sum" else v) for c, v in vals.items()}
        out.append(Child(code, names.get(code, code), levels.get(code, ""), vals, 1, 1, Decimal(str(share)) if share else None))
    return sorted(out, key=lambda c: (c.level, c.name))


def _agency_cells(regime_id, period_key, basis, code) -> dict:
    rv, sv = RecordVersion, SubmissionValue
    rows = db.session.execute(select(sv.indicator, sv.dkey, sv.number, rv.reported_at).join(sv, sv.version_id == rv.version_id)
                              .where(rv.regime_id == regime_id, rv.period_key == period_key, rv.basis == basis,
                                     rv.agency_code == code, sv.number.is_not(None))).all()
    return {(i, k): Partial.of(n, at) for i, k, n, at in rows}


def _rows(definition: RegimeDef, cat: Catalogue, now, prev, ly) -> list[Row]:
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
    cells = _cells(r.id, [p.key for p in keys], tier, basis, [unit], ind.aggregation in ("min", "max", "latest"))
    return [(p, rules.value(ind, cells.get((p.key, unit), {}))) for p in keys]


# -------------------------------------------------------------------------------- completeness
@dataclass
class CompletenessRow:
    code: str
    name: str
    level: str
    cells: dict[str, str]  # period key → on_time | late | returned | draft | missing | "" (not owed)


@dataclass
class CompletenessView:
    periods: list[Period]
    rows: list[CompletenessRow]
    totals: dict[str, rules.Completeness]  # period key → counts
    by_level: dict[str, rules.Completeness]  # for the latest period


def completeness(*, user: User, regime: str, period: str, unit: str = NATION, tier: int | None = None,
                 periods: int = 6) -> CompletenessView:
    """Agencies × periods: on time, late, returned, draft, missing — only agencies that existed and
    were obliged to report in each period count, so no rate can exceed 100 %."""
    unit = _unit_for(user, unit)
    r = _regime(regime)
    definition, _ = regime_definition(r.current_version)
    last = _period(definition, period)
    keys = [last.shift(-i) for i in range(periods - 1, -1, -1)]
    keys = [p for p in keys if definition.covers(p)]
    tier_choice = tier if tier is not None else 0
    status = {}
    rows = db.session.execute(select(Submission.period_key, Agency.code, Submission.status, Submission.on_time)
                              .join(Agency, Agency.id == Submission.agency_id)
                              .where(Submission.regime_id == r.id, Submission.period_key.in_([p.key for p in keys]))).all()
    for key, code, s, on_time in rows:
        status[(key, code)] = (s, on_time)
    matrix: dict[str, CompletenessRow] = {}
    totals, by_level = {}, {}
    for p in keys:
        day = p.cutoff(definition.cutoff)[1]
        units = agency_svc.units_on(day=day)
        by_code = {u.code: u for u in units}
        obs = obligations(definition, p, units)
        tiers_here = sorted({o.tier for o in obs})
        t = tier_choice if tier_choice in tiers_here else (tiers_here[0] if tiers_here else 0)
        owed = [o.agency for o in obs if o.tier == t]
        if unit != NATION:
            owed = [c for c in owed if c == unit or by_code[c].province == unit]
        st = {c: status.get((p.key, c), (None, None)) for c in owed}
        totals[p.key] = rules.completeness(owed, st)
        for c in owed:
            u = by_code[c]
            row = matrix.setdefault(c, CompletenessRow(c, u.name, u.level, {}))
            row.cells[p.key] = rules.classify(*st[c])
        if p == keys[-1]:
            levels = defaultdict(list)
            for c in owed:
                levels[by_code[c].level].append(c)
            by_level = {lvl: rules.completeness(cs, st) for lvl, cs in levels.items()}
    ordered = sorted(matrix.values(), key=lambda r: (r.level, r.name))
    return CompletenessView(keys, ordered, totals, by_level)


def regimes_with_data() -> list[Regime]:
    return list(db.session.scalars(select(Regime).order_by(Regime.code)))


def latest_period(regime: Regime) -> str | None:
    return db.session.scalar(select(func.max(Aggregate.period_key)).where(Aggregate.regime_id == regime.id))
