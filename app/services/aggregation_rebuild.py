"""Rebuilding the reporting center's record versions and partials from the raw values — after a
bulk load, a change of the agency map, or to repair them. The partials are kept up to date at each
submission (aggregation.py); a rebuild recomputes everything in its scope and **writes only what
differs** from what is stored (decision 0016): a rebuild over unchanged data writes nothing, a
damaged partial is replaced, a missing one added, a stray one removed.

Per regime: the record versions that count (computed in Python from two queries per period),
then every partial of its periods in one temporary table — the provinces' approved partials from
one GROUP BY over the raw values (in parallel on PostgreSQL), the "latest" basis copied from them
wherever the same versions count and computed where they differ, the nation's from the provinces'
— and one comparison of that table with the stored partials.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, column, delete, exists, func, literal, select, table, text, true, tuple_
from sqlalchemy.orm import aliased

from app import faults
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
from . import center_cache
from .aggregation import CENTRAL, NATION, as_number, lock_period, period_day, recompute
from .bulk import insert_many
from .catalogue import regime_definition
from .errors import NotFound

KEY = ["regime_id", "period_key", "tier", "basis", "unit_code", "indicator", "dkey"]
FIGURES = ["n", "total", "minimum", "maximum"]
RECORD = ("tier", "province_code", "version_id", "reported_at")


@dataclass
class RebuildSummary:
    scopes: int = 0
    records: int = 0
    aggregates: int = 0
    written: int = 0  # record versions and partials deleted or inserted because they differed


def rebuild(*, regime: str | None = None, period: str | None = None,
            progress: Callable[[int, int], None] = lambda done, total: None) -> RebuildSummary:
    """Recompute record versions and partials from the raw values, idempotently (all regimes and
    periods when none is given), writing only the rows that differ from the stored ones."""
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
            lock_period(regime_id, key)
            center_cache.bump(regime_id, key)
        records: dict[tuple, dict[str, set]] = defaultdict(lambda: {"approved": set(), "latest": set()})
        for key in keys:
            rows = _records(regime_id, key)
            summary.records += len(rows)
            summary.written += _sync_records(regime_id, key, rows)
            for r in rows:
                records[(key, r["tier"], r["province_code"])][r["basis"]].add((r["agency_code"], r["version_id"]))
            done += 1
            progress(done, total)
        if _has_latest_indicators(regime_id):
            summary.written += _recompute_all(regime_id, keys)
        else:
            summary.written += _sync_partials(regime_id, keys, records)
        faults.point("rebuild.regime")  # crash tests: one regime recomputed, not yet committed
        db.session.commit()
        summary.scopes += len(keys)
    summary.aggregates = db.session.scalar(select(func.count()).select_from(Aggregate)) or 0
    return summary


def _has_latest_indicators(regime_id: int) -> bool:
    regime = db.session.get(Regime, regime_id)
    definition, cat = regime_definition(regime.current_version)
    return any(cat.indicators[c].aggregation == "latest" for c in definition.indicator_codes)


# ---------------------------------------------------------------------------------- record versions
def _records(regime_id: int, period_key: str) -> list[dict]:
    """The record versions every submission of one (regime, period) should have — two queries."""
    subs = db.session.execute(select(Submission.id, Submission.agency_id, Submission.tier, Submission.approved_version, Agency.code)
                              .join(Agency, Agency.id == Submission.agency_id)
                              .where(Submission.regime_id == regime_id, Submission.period_key == period_key)).all()
    if not subs:
        return []
    day = period_day(db.session.get(Submission, subs[0][0]))
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
        sealed = by_sub.get(sid, ())
        approved = None
        if approved_version is not None:
            approved = next((v for v in sealed if v[1] == approved_version), None)
        latest = sealed[-1] if sealed and sealed[-1][3] in ("submitted", "approved") else approved
        province = provinces.get(agency_id, CENTRAL)
        for basis, v in (("approved", approved), ("latest", latest)):
            if v is not None:
                rows.append({"regime_id": regime_id, "period_key": period_key, "basis": basis, "tier": tier,
                             "agency_code": code, "province_code": province, "version_id": v[2], "reported_at": v[4]})
    return rows


def _sync_records(regime_id: int, period_key: str, rows: list[dict]) -> int:
    """Make the stored record versions of one (regime, period) equal to `rows`; the rows written."""
    rv = RecordVersion
    stored = {(basis, agency): (row_id, values) for row_id, basis, agency, *values in db.session.execute(
        select(rv.id, rv.basis, rv.agency_code, *[getattr(rv, c) for c in RECORD])
        .where(rv.regime_id == regime_id, rv.period_key == period_key))}
    wanted = {(r["basis"], r["agency_code"]): r for r in rows}
    stale = [row_id for k, (row_id, values) in stored.items()
             if k not in wanted or values != [wanted[k][c] for c in RECORD]]
    new = [r for k, r in wanted.items() if k not in stored or stored[k][1] != [r[c] for c in RECORD]]
    for i in range(0, len(stale), 1000):
        db.session.execute(delete(rv).where(rv.id.in_(stale[i:i + 1000])))
    insert_many(rv.__table__, new)
    return len(stale) + len(new)


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


# ---------------------------------------------------------------------------------- partials
def _sync_partials(regime_id: int, keys: list[str], records: dict[tuple, dict[str, set]]) -> int:
    """Every partial of the regime's periods computed into a temporary table, then compared with
    the stored ones; the rows written."""
    few = len(keys) <= 500
    in_periods = RecordVersion.period_key.in_(keys) if few else true()
    desired = _temporary("rebuild_partials", _grouped(regime_id, "approved", in_periods))
    columns = KEY + FIGURES
    # "latest" = "approved" wherever the same versions count; computed from the values where they differ
    differ = [k for k, b in records.items() if b["approved"] != b["latest"]]
    copied = select(*[desired.c[c] for c in columns if c != "basis"]).add_columns(literal("latest")).where(desired.c.basis == "approved")
    if differ:
        copied = copied.where(tuple_(desired.c.period_key, desired.c.tier, desired.c.unit_code).not_in(differ))
    db.session.execute(desired.insert().from_select([c for c in columns if c != "basis"] + ["basis"], copied))
    rv = RecordVersion
    for i in range(0, len(differ), 500):
        where = tuple_(rv.period_key, rv.tier, rv.province_code).in_(differ[i:i + 500])
        db.session.execute(desired.insert().from_select(columns, _grouped(regime_id, "latest", where)))
    # the nation: one GROUP BY over the provinces' partials of every period, tier and basis
    d = desired
    nation = select(d.c.regime_id, d.c.period_key, d.c.tier, d.c.basis, literal(NATION), d.c.indicator, d.c.dkey, func.sum(d.c.n),
                    func.sum(as_number(d.c.total)), func.min(as_number(d.c.minimum)), func.max(as_number(d.c.maximum))).group_by(
        d.c.regime_id, d.c.period_key, d.c.tier, d.c.basis, d.c.indicator, d.c.dkey)
    db.session.execute(desired.insert().from_select(columns, nation))
    a = Aggregate.__table__
    written = _sync(desired, [a.c.regime_id == regime_id, a.c.period_key.in_(keys) if few else true()])
    _drop(desired)
    return written


def _grouped(regime_id: int, basis: str, where):
    """The provinces' partials of one basis from the raw values of the versions that count."""
    rv, sv = RecordVersion, SubmissionValue
    return (select(literal(regime_id), rv.period_key, rv.tier, rv.basis, rv.province_code, sv.indicator, sv.dkey,
                   func.count(sv.number), func.sum(as_number(sv.number)), func.min(as_number(sv.number)), func.max(as_number(sv.number)))
            .join(sv, sv.version_id == rv.version_id)
            .where(rv.regime_id == regime_id, rv.basis == basis, where, sv.number.is_not(None))
            .group_by(rv.period_key, rv.tier, rv.basis, rv.province_code, sv.indicator, sv.dkey))


def _sync(desired, scope: list) -> int:
    """Make the stored partials within `scope` the rows of `desired`: delete every stored row that
    is not desired as it is, insert every desired row not stored. Unchanged rows are not touched."""
    a = Aggregate.__table__
    # numbers compared as numbers (SQLite keeps them as text: "1722" and "1722.0" are the same figure)
    same = [desired.c[k] == a.c[k] for k in KEY] + [as_number(desired.c[f]).is_not_distinct_from(as_number(a.c[f])) for f in FIGURES] \
        + [a.c.latest_at.is_(None), a.c.latest.is_(None)]
    gone = db.session.execute(delete(a).where(*scope, ~exists().where(*same).correlate(a))).rowcount
    stored = a.alias("stored")
    missing = select(*[desired.c[c] for c in KEY + FIGURES]).where(~exists().where(*[stored.c[k] == desired.c[k] for k in KEY]))
    added = db.session.execute(a.insert().from_select(KEY + FIGURES, missing), execution_options={"preserve_rowcount": True}).rowcount
    return gone + added


def _temporary(name: str, grouped):
    """The rows of `grouped` in a temporary table shaped like the partials. PostgreSQL: created by
    the GROUP BY itself (CREATE TABLE AS may run in parallel, an INSERT … SELECT never does), with
    the memory to hash ten million values and no JIT compiling (seconds of it for one query),
    dropped at commit. SQLite: the partials' column types (the same text for the same number)."""
    bind = db.session.get_bind()
    columns = KEY + FIGURES
    if bind.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL work_mem = '256MB'"))
        db.session.execute(text("SET LOCAL jit = off"))
        db.session.execute(text(f"DROP TABLE IF EXISTS {name}"))
        sql = grouped.compile(dialect=bind.dialect, compile_kwargs={"render_postcompile": True})
        db.session.connection().exec_driver_sql(f"CREATE TEMPORARY TABLE {name} ({', '.join(columns)}) ON COMMIT DROP AS {sql}",
                                                sql.params)
        made = table(name, *[column(c) for c in columns])
    else:
        db.session.execute(text(f"DROP TABLE IF EXISTS temp.{name}"))
        db.session.execute(text(f"CREATE TEMPORARY TABLE {name} AS SELECT {', '.join(columns)} FROM aggregates WHERE 0"))
        made = table(name, *[column(c) for c in columns])
        db.session.execute(made.insert().from_select(columns, grouped))
    return made


def _drop(made) -> None:
    if db.session.get_bind().dialect.name != "postgresql":  # PostgreSQL drops it at commit
        db.session.execute(text(f"DROP TABLE IF EXISTS temp.{made.name}"))


def _recompute_all(regime_id: int, keys: list[str]) -> int:
    """Regimes with indicators aggregated as "latest" (the most recent report's value): the window
    query runs per (period, tier, basis) and its partials are written again."""
    written = 0
    for i in range(0, len(keys), 500):
        written += db.session.execute(delete(Aggregate).where(Aggregate.regime_id == regime_id,
                                                              Aggregate.period_key.in_(keys[i:i + 500]))).rowcount
    for key in keys:
        for tier, basis in db.session.execute(select(RecordVersion.tier, RecordVersion.basis).distinct().where(
                RecordVersion.regime_id == regime_id, RecordVersion.period_key == key)).all():
            recompute(regime_id, key, tier, basis, units=None)
    return written + (db.session.scalar(select(func.count()).select_from(Aggregate).where(
        Aggregate.regime_id == regime_id, Aggregate.period_key.in_(keys) if len(keys) <= 500 else true())) or 0)
