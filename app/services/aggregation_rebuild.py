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

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, column, delete, exists, func, literal, or_, select, table, text, true, tuple_, union_all
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
RECORD_COLUMNS = ["regime_id", "period_key", "basis", "tier", "agency_code", "province_code", "version_id", "reported_at"]


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
        counted, written, differ = _sync_records(regime_id, keys)
        summary.records += counted
        progress(done + len(keys) // 2, total)
        if _has_latest_indicators(regime_id):
            written += _recompute_all(regime_id, keys)
        else:
            written += _sync_partials(regime_id, keys, differ)
        if written:  # the kept views that read these periods are stale; unchanged, they stay valid
            for key in keys:
                center_cache.bump(regime_id, key)
        summary.written += written
        done += len(keys)
        progress(done, total)
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
def _sync_records(regime_id: int, keys: list[str]) -> tuple[int, int, list[tuple]]:
    """Make the stored record versions of the regime's periods the ones that count now: computed
    by one query into a temporary table and compared with the stored ones. Returns how many count,
    how many rows were written, and the (period, tier, province) whose "latest" versions are not
    their approved ones."""
    s, v, rv = Submission, SubmissionVersion, RecordVersion
    few = len(keys) <= 500
    if db.session.get_bind().dialect.name == "postgresql":
        # every comparison below is a set operation: hash joins. A nested loop chosen on stale
        # statistics — a table just emptied still has its dead rows — ran for minutes.
        db.session.execute(text("SET LOCAL enable_nestloop = off"))
    provinces, periods = _province_tables(regime_id, keys)
    newest = {"partition_by": s.id, "order_by": v.number.desc()}
    sealed = (select(s.period_key, s.tier, s.agency_id, s.approved_version, v.number, v.id.label("version_id"), v.status,
                     v.submitted_at, func.row_number().over(**newest).label("rk"), func.first_value(v.status).over(**newest).label("newest"))
              .join(v, v.submission_id == s.id)
              .where(s.regime_id == regime_id, s.period_key.in_(keys) if few else true(), v.seal_hash.is_not(None))).subquery("sealed")
    sent = ("submitted", "approved")
    counted = union_all(  # the approved version; the newest sealed one if sent or approved, else the approved one
        select(sealed, literal("approved").label("basis")).where(sealed.c.number == sealed.c.approved_version),
        select(sealed, literal("latest").label("basis")).where(or_(
            and_(sealed.c.rk == 1, sealed.c.status.in_(sent)),
            and_(sealed.c.number == sealed.c.approved_version, sealed.c.newest.not_in(sent))))).subquery("counted")
    wanted = (select(literal(regime_id), counted.c.period_key, counted.c.basis, counted.c.tier, Agency.code,
                     func.coalesce(provinces.c.province_code, CENTRAL), counted.c.version_id, counted.c.submitted_at)
              .join(Agency, Agency.id == counted.c.agency_id)
              .join(periods, periods.c.period_key == counted.c.period_key)
              .join(provinces, and_(provinces.c.epoch == periods.c.epoch, provinces.c.agency_id == counted.c.agency_id), isouter=True))
    desired = _temporary("rebuild_records", wanted, RECORD_COLUMNS, like="record_versions")
    t = rv.__table__
    same = [desired.c[c] == t.c[c] for c in RECORD_COLUMNS if c != "reported_at"] + [desired.c.reported_at.is_not_distinct_from(t.c.reported_at)]
    gone = db.session.execute(delete(t).where(t.c.regime_id == regime_id, t.c.period_key.in_(keys) if few else true(),
                                              ~exists().where(*same).correlate(t))).rowcount
    stored = t.alias("stored")
    missing = select(*[desired.c[c] for c in RECORD_COLUMNS]).where(~exists().where(
        *[stored.c[c] == desired.c[c] for c in ("regime_id", "period_key", "basis", "agency_code")]))
    added = db.session.execute(t.insert().from_select(RECORD_COLUMNS, missing), execution_options={"preserve_rowcount": True}).rowcount
    # (period, tier, province) where "latest" counts other versions than "approved"
    mine, theirs = desired.alias("mine"), desired.alias("theirs")
    differ = set()
    for basis, against in (("latest", "approved"), ("approved", "latest")):
        differ |= set(db.session.execute(select(mine.c.period_key, mine.c.tier, mine.c.province_code).distinct().where(
            mine.c.basis == basis, ~exists().where(theirs.c.basis == against, *[theirs.c[c] == mine.c[c] for c in (
                "period_key", "tier", "province_code", "agency_code", "version_id")]))).all())
    count = db.session.scalar(select(func.count()).select_from(desired)) or 0
    if gone + added > max(count // 10, 1000) and db.session.get_bind().dialect.name == "postgresql":
        # many rows changed (a rebuild from nothing, a map change): the GROUP BY that reads them
        # next is planned on statistics of before — seen running 16 s instead of 4 on a table
        # last analysed while empty
        db.session.execute(text("ANALYZE record_versions"))
    for made in (desired, provinces, periods):
        _drop(made)
    return count, gone + added, sorted(tuple(row) for row in differ)


def _province_tables(regime_id: int, keys: list[str]):
    """Two small temporary tables: each period's epoch of the agency map, and each epoch's agency →
    province. The map of a day (`_provinces_on`) changes only on the days a link between units
    starts or ends, so periods between the same two changes share one map — computed once."""
    firsts = {}
    for key, sid in db.session.execute(select(Submission.period_key, func.min(Submission.id)).where(
            Submission.regime_id == regime_id, Submission.period_key.in_(keys) if len(keys) <= 500 else true())
            .group_by(Submission.period_key)).all():
        firsts[key] = period_day(db.session.get(Submission, sid))
    changes = sorted({d for d, in db.session.execute(select(AgencyParent.valid_from).where(AgencyParent.valid_from.is_not(None)))}
                     | {d + timedelta(days=1) for d, in db.session.execute(select(AgencyParent.valid_to)
                                                                           .where(AgencyParent.valid_to.is_not(None)))})
    epochs = {key: bisect_right(changes, day) for key, day in firsts.items()}
    periods = _temporary("rebuild_periods", None, ["period_key", "epoch"], types={"period_key": "VARCHAR(40)", "epoch": "INTEGER"})
    insert_many(periods, [{"period_key": k, "epoch": e} for k, e in epochs.items()])
    provinces = _temporary("rebuild_provinces", None, ["epoch", "agency_id", "province_code"],
                           types={"epoch": "INTEGER", "agency_id": "INTEGER", "province_code": "VARCHAR(40)"})
    day_of = {e: firsts[k] for k, e in epochs.items()}
    insert_many(provinces, [{"epoch": e, "agency_id": aid, "province_code": code}
                            for e, day in day_of.items() for aid, code in _provinces_on(day).items() if code != CENTRAL])
    return provinces, periods


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
def _sync_partials(regime_id: int, keys: list[str], differ: list[tuple]) -> int:
    """Every partial of the regime's periods computed into a temporary table, then compared with
    the stored ones; the rows written."""
    few = len(keys) <= 500
    in_periods = RecordVersion.period_key.in_(keys) if few else true()
    columns = KEY + FIGURES
    desired = _by_slots(regime_id, in_periods)
    if desired is None:
        desired = _temporary("rebuild_partials", _grouped(regime_id, "approved", in_periods), columns, like="aggregates")
    # "latest" = "approved" wherever the same versions count; computed from the values where they differ
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
    return (select(literal(regime_id), rv.period_key, rv.tier, literal(basis), rv.province_code, sv.indicator, sv.dkey,
                   func.count(), func.sum(as_number(sv.number)), func.min(as_number(sv.number)), func.max(as_number(sv.number)))
            .join(sv, sv.version_id == rv.version_id)
            .where(rv.regime_id == regime_id, rv.basis == basis, where, sv.number.is_not(None))
            .group_by(rv.period_key, rv.tier, rv.province_code, sv.indicator, sv.dkey))


SLOTS_SPAN = 4_000_000  # version ids the slot array of _by_slots may span (16 MB); beyond, the join of _grouped
SLOTS_DENSE = 0.9  # the share of the span's ids that count from which the values of the others are not filtered out


def _by_slots(regime_id: int, in_periods):
    """PostgreSQL: the provinces' approved partials as `_grouped` computes them, but without joining
    ten million values to the record versions. The record versions that count (a few tens of
    thousands) are read here, each (period, tier, province) numbered, and the query looks each
    value's number up by its version id in an integer array sent with it, groups by that number and
    names it at the end (about a sixth of the rebuild at 10 M values; docs/performance.md). None — the caller then
    joins — on SQLite, when nothing counts, or when the versions' ids span more than SLOTS_SPAN."""
    if db.session.get_bind().dialect.name != "postgresql":
        return None
    rv = RecordVersion
    rows = db.session.execute(select(rv.version_id, rv.period_key, rv.tier, rv.province_code)
                              .where(rv.regime_id == regime_id, rv.basis == "approved", in_periods)).all()
    slots: dict[tuple, int] = {}
    slot_of: dict[int, int] = {}
    for version_id, *where in rows:
        slot_of[version_id] = slots.setdefault(tuple(where), len(slots) + 1)
    if not rows or len(slot_of) < len(rows) or max(slot_of) - min(slot_of) >= SLOTS_SPAN:
        return None  # (a version twice among the approved of one regime cannot be: the join gives it its old answer)
    lo, hi = min(slot_of), max(slot_of)
    periods, tiers, provinces = (list(c) for c in zip(*slots, strict=True))
    slot = "(CAST(:slot_of AS INTEGER[]))[sv.version_id - :lo + 1]"
    # where nearly every id in the span counts (a bulk load, one busy regime), the few values of the
    # others are grouped under slot 0 and dropped by the last join: cheaper than a second lookup per
    # value to filter them out (0.2–0.3 s at 10 M values); elsewhere they are filtered
    counted_only = "" if len(slot_of) >= SLOTS_DENSE * (hi - lo + 1) else f"AND {slot} <> 0 "
    # the planner expects as many groups as values (it cannot know the slots repeat) and would not
    # share the GROUP BY between workers: tell it workers cost nothing, for this statement
    db.session.execute(text("SET LOCAL parallel_setup_cost = 0"))
    db.session.execute(text("SET LOCAL parallel_tuple_cost = 0"))
    grouped = text(
        "SELECT CAST(:regime_id AS INTEGER), s.period_key, s.tier, CAST('approved' AS VARCHAR(12)), s.province_code, "
        "g.indicator, g.dkey, g.n, g.total, g.minimum, g.maximum "
        f"FROM (SELECT {slot} AS slot, sv.indicator, sv.dkey, count(*) AS n, sum(sv.number) AS total, "
        "min(sv.number) AS minimum, max(sv.number) AS maximum FROM submission_values sv "
        f"WHERE sv.version_id BETWEEN :lo AND :hi {counted_only}AND sv.number IS NOT NULL GROUP BY 1, 2, 3) g "
        "JOIN unnest(CAST(:periods AS VARCHAR(40)[]), CAST(:tiers AS INTEGER[]), CAST(:provinces AS VARCHAR(40)[])) "
        "WITH ORDINALITY AS s(period_key, tier, province_code, slot) ON s.slot = g.slot").bindparams(
        regime_id=regime_id, lo=lo, hi=hi, periods=periods, tiers=tiers, provinces=provinces,
        slot_of=[slot_of.get(v, 0) for v in range(lo, hi + 1)])
    desired = _temporary("rebuild_partials", grouped, KEY + FIGURES)
    db.session.execute(text("RESET parallel_setup_cost"))
    db.session.execute(text("RESET parallel_tuple_cost"))
    return desired


def _sync(desired, scope: list) -> int:
    """Make the stored partials within `scope` the rows of `desired`: one FULL JOIN finds the
    stored rows that are not desired as they are (deleted) and the desired rows not stored as they
    are (inserted). Unchanged rows are not touched."""
    t = Aggregate.__table__
    if db.session.scalar(select(t.c.id).where(*scope).limit(1)) is None:  # nothing stored (after a bulk load): no comparison
        return db.session.execute(t.insert().from_select(KEY + FIGURES, select(*[desired.c[c] for c in KEY + FIGURES])),
                                  execution_options={"preserve_rowcount": True}).rowcount
    stored = select(t).where(*scope).subquery("stored")
    # numbers compared as numbers (SQLite keeps them as text: "1722" and "1722.0" are the same figure)
    differ = or_(*[as_number(desired.c[f]).is_distinct_from(as_number(stored.c[f])) for f in FIGURES],
                 stored.c.latest_at.is_not(None), stored.c.latest.is_not(None))
    found = db.session.execute(select(stored.c.id, desired.c.tier).select_from(
        desired.join(stored, and_(*[desired.c[k] == stored.c[k] for k in KEY]), full=True))
        .where(or_(stored.c.id.is_(None), desired.c.tier.is_(None), differ))).all()
    stale = [row_id for row_id, _ in found if row_id is not None]
    for i in range(0, len(stale), 1000):
        db.session.execute(delete(t).where(t.c.id.in_(stale[i:i + 1000])))
    added = 0
    if any(tier is not None for _, tier in found):
        again = t.alias("again")
        missing = select(*[desired.c[c] for c in KEY + FIGURES]).where(~exists().where(*[again.c[k] == desired.c[k] for k in KEY]))
        added = db.session.execute(t.insert().from_select(KEY + FIGURES, missing), execution_options={"preserve_rowcount": True}).rowcount
    return len(stale) + added


def _temporary(name: str, rows, columns: list[str], like: str = "", types: dict[str, str] | None = None):
    """A temporary table `name` with `columns`, filled with the rows of the select `rows` (or
    empty: `types` gives its column types). PostgreSQL: created by the select itself (CREATE TABLE
    AS may run in parallel, an INSERT … SELECT never does), with the memory to hash ten million
    values and no JIT compiling (seconds of it for one query), dropped at commit. SQLite: the
    column types of the table `like` (the same text for the same number), then filled."""
    bind = db.session.get_bind()
    made = table(name, *[column(c) for c in columns])
    pg = bind.dialect.name == "postgresql"
    db.session.execute(text(f"DROP TABLE IF EXISTS {name}" if pg else f"DROP TABLE IF EXISTS temp.{name}"))
    if types:
        db.session.execute(text(f"CREATE TEMPORARY TABLE {name} ({', '.join(f'{c} {types[c]}' for c in columns)})"
                                + (" ON COMMIT DROP" if pg else "")))
    elif pg:
        db.session.execute(text("SET LOCAL work_mem = '256MB'"))
        db.session.execute(text("SET LOCAL jit = off"))
        sql = rows.compile(dialect=bind.dialect, compile_kwargs={"render_postcompile": True})
        db.session.connection().exec_driver_sql(f"CREATE TEMPORARY TABLE {name} ({', '.join(columns)}) ON COMMIT DROP AS {sql}",
                                                sql.params)
        return made
    else:
        db.session.execute(text(f"CREATE TEMPORARY TABLE {name} AS SELECT {', '.join(columns)} FROM {like} WHERE 0"))
    if rows is not None:
        db.session.execute(made.insert().from_select(columns, rows))
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
