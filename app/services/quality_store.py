"""The outlier pass's inputs: each reported value with its history (`gather`), and each approved
value's features against that history kept in the database (`keep`, `refresh`, `rebuild`) so that
the pass over a period reads only the period (`stored_pass`).

A cell's features depend only on its own values of the last 19 periods (app/domain/quality.py,
Features). They are computed in the transaction that approves a report (aggregation.refresh calls
`refresh`) — for that period and for the agency's later periods whose history it is part of — and
marked with the approved version they came from. The pass uses the kept features only when every
approved report of the period carries its mark; otherwise (data older than the kept features, a
rebuild not yet run) it reads the history as before. `flask quality rebuild` fills them for old data.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Numeric, String, and_, delete, func, select, type_coerce

from app.domain import aggregation as agg_rules
from app.domain import quality as rules
from app.domain.layout import Layout
from app.domain.periods import Period
from app.extensions import db
from app.models import Agency, RecordVersion, Regime, SubmissionValue
from app.models.quality import QualityCell, QualityMark

from .bulk import insert_many
from .catalogue import regime_definition

BASIS = "approved"  # features are kept for approved reports (the center's default); "latest" reads the history


def _raw(col):
    return type_coerce(col, String if db.engine.dialect.name == "sqlite" else Numeric(asdecimal=True))


@dataclass
class Gathered:
    cells: list[tuple[str, str, str]]  # (agency, indicator, breakdown) reported in the period
    history: np.ndarray  # cells × periods back (0 = the period), NaN where none
    province: dict[str, str]  # agency → province as reported
    comment: dict[tuple[str, str], str]  # (agency, indicator) → the reporter's note
    per_year: int


def gather(regime_id: int, definition, cat, p: Period, tier: int, basis: str, agencies: Iterable[str] | None = None) -> Gathered:
    """The typed cells reported in the period (by `agencies`, or all) and each one's history (one query)."""
    per_year = p.frequency.periods_per_year if p.code is None else 0
    width = rules.offsets_needed(per_year) + 1
    keys = [p.shift(-k).key for k in range(width)] if p.code is None else [p.key]
    offset = {k: i for i, k in enumerate(keys)}
    layout = Layout(definition, cat)
    typed = {k for k, c in layout.cells.items() if not c.computed and c.indicator.value_type != "text"}
    rv, sv = RecordVersion, SubmissionValue
    where = [rv.regime_id == regime_id, rv.basis == basis, rv.tier == tier, rv.period_key.in_(keys), sv.number.is_not(None)]
    if agencies is not None:
        where.append(rv.agency_code.in_(list(agencies)))
    rows = db.session.connection().execute(  # Core rows: tens of thousands, no ORM bookkeeping
        select(rv.period_key, rv.agency_code, rv.province_code, sv.indicator, sv.dkey, _raw(sv.number), sv.comment)
        .join(sv, sv.version_id == rv.version_id).where(*where)).all()
    if not rows:
        return Gathered([], np.full((0, width), np.nan), {}, {}, per_year)
    names = ["period", "agency", "province", "indicator", "dkey", "number", "comment"]
    frame = pd.DataFrame(dict(zip(names, zip(*rows, strict=True), strict=True)))  # by column: fast
    slot = frame["indicator"] + "|" + frame["dkey"]
    frame = frame[slot.isin({f"{i}|{k}" for i, k in typed})]
    key = frame["agency"] + "|" + frame["indicator"] + "|" + frame["dkey"]
    now = frame[frame["period"] == p.key].drop_duplicates(["agency", "indicator", "dkey"])
    now_keys = pd.Index(key[now.index])
    cells = list(zip(now["agency"], now["indicator"], now["dkey"], strict=True))
    history = np.full((len(cells), width), np.nan)
    if cells:
        row_of = now_keys.get_indexer(key)
        col_of = frame["period"].map(offset).to_numpy()
        known = row_of >= 0
        history[row_of[known], col_of[known]] = pd.to_numeric(frame["number"], errors="coerce").to_numpy(dtype=float)[known]
    province = dict(zip(now["agency"], now["province"], strict=True))
    comment = {(a, i): c for a, i, k, c in zip(now["agency"], now["indicator"], now["dkey"], now["comment"], strict=True) if c and not k}
    return Gathered(cells, history, province, comment, per_year)


def peers_of(indicator: str, dkey: str, level: str) -> int:
    """The same number for the cells compared with each other (same indicator, breakdown, level)."""
    return int.from_bytes(hashlib.blake2b(f"{indicator}|{dkey}|{level}".encode(), digest_size=8).digest(), "big", signed=True)


# ------------------------------------------------------------------------------------ keeping
def keep(regime_id: int, definition, cat, p: Period, tier: int, agencies: Iterable[str] | None = None) -> int:
    """Compute and store the features of the period's approved cells (of `agencies`, or all),
    replacing what was kept for them, with each report's mark. Returns the cells kept."""
    g = gather(regime_id, definition, cat, p, tier, BASIS, agencies)
    scope = [QualityCell.regime_id == regime_id, QualityCell.period_key == p.key, QualityCell.tier == tier]
    marks = [QualityMark.regime_id == regime_id, QualityMark.period_key == p.key]
    if agencies is not None:
        scope.append(QualityCell.agency_code.in_(list(agencies)))
        marks.append(QualityMark.agency_code.in_(list(agencies)))
    db.session.execute(delete(QualityCell).where(*scope))
    db.session.execute(delete(QualityMark).where(*marks))
    rv = RecordVersion
    versions = db.session.execute(select(rv.agency_code, rv.version_id).where(
        rv.regime_id == regime_id, rv.period_key == p.key, rv.basis == BASIS, rv.tier == tier,
        *([rv.agency_code.in_(list(agencies))] if agencies is not None else []))).all()
    insert_many(QualityMark.__table__, [{"regime_id": regime_id, "period_key": p.key, "agency_code": a, "version_id": v} for a, v in versions])
    if not g.cells:
        return 0
    levels = dict(db.session.execute(select(Agency.code, Agency.level).where(Agency.code.in_({c for c, _, _ in g.cells}))).all())
    points = np.array([agg_rules.in_points(cat.indicators[ind]) for _, ind, _ in g.cells], dtype=bool)
    f = rules.features(g.history, points, g.per_year).columns()
    as_lists = {name: [None if np.isnan(x) else float(x) for x in col] for name, col in f.items()}
    rows = [{"regime_id": regime_id, "period_key": p.key, "tier": tier, "agency_code": code, "indicator": ind, "dkey": dkey,
             "peers": peers_of(ind, dkey, levels.get(code, "")), "points": bool(points[i]), **{n: as_lists[n][i] for n in rules.FEATURES}}
            for i, (code, ind, dkey) in enumerate(g.cells)]
    insert_many(QualityCell.__table__, rows)
    return len(rows)


def refresh(regime_id: int, period_key: str, tier: int, agency: str) -> None:
    """An agency's approved report of a period changed (aggregation.refresh, same transaction):
    its features for that period and for its later periods that read it as history."""
    regime = db.session.get(Regime, regime_id)
    definition, cat = regime_definition(regime.current_version)
    try:
        p = Period.parse(period_key)
    except Exception:  # noqa: BLE001 — a period the domain does not know has nothing to keep
        return
    if p.code is not None:  # thematic and ad hoc reports have no history
        keep(regime_id, definition, cat, p, tier, [agency])
        return
    width = rules.offsets_needed(p.frequency.periods_per_year) + 1
    later = {p.shift(k).key for k in range(1, width)}
    have = set(db.session.scalars(select(RecordVersion.period_key).where(
        RecordVersion.regime_id == regime_id, RecordVersion.basis == BASIS, RecordVersion.agency_code == agency,
        RecordVersion.tier == tier, RecordVersion.period_key.in_(later))))
    for key in [p.key, *sorted(have)]:
        keep(regime_id, definition, cat, Period.parse(key), tier, [agency])


def refresh_period(regime_id: int, period_key: str) -> None:
    """Reports of a period were loaded in bulk (history.load_reports): the features of the period
    and of the later periods that read it as history, for every agency."""
    regime = db.session.get(Regime, regime_id)
    definition, cat = regime_definition(regime.current_version)
    p = Period.parse(period_key)
    keys = [p.key] if p.code is not None else [p.shift(k).key for k in range(rules.offsets_needed(p.frequency.periods_per_year) + 1)]
    for key, tier in sorted(db.session.execute(select(RecordVersion.period_key, RecordVersion.tier).distinct().where(
            RecordVersion.regime_id == regime_id, RecordVersion.basis == BASIS, RecordVersion.period_key.in_(keys))).all()):
        keep(regime_id, definition, cat, Period.parse(key), tier)


def rebuild(*, regime: str, periods: list[str] | None = None, progress: Callable[[int, int], None] = lambda d, t: None) -> int:
    """Every approved cell's features of a regime (its periods with approved reports, or those
    given), tier by tier; returns the cells kept."""
    r = db.session.scalar(select(Regime).where(Regime.code == regime))
    definition, cat = regime_definition(r.current_version)
    scopes = db.session.execute(select(RecordVersion.period_key, RecordVersion.tier).distinct().where(
        RecordVersion.regime_id == r.id, RecordVersion.basis == BASIS,
        *([RecordVersion.period_key.in_(periods)] if periods else []))).all()
    scopes = sorted(scopes)
    total = 0
    progress(0, len(scopes))
    for i, (key, tier) in enumerate(scopes, 1):
        try:
            p = Period.parse(key)
        except Exception:  # noqa: BLE001
            continue
        total += keep(r.id, definition, cat, p, tier)
        db.session.commit()
        progress(i, len(scopes))
    return total


# ------------------------------------------------------------------------------------ the pass
def complete(regime_id: int, period_key: str, tier: int) -> bool:
    """Whether every approved report of the period has its features kept, from that very version."""
    rv, m = RecordVersion, QualityMark
    missing = db.session.scalar(select(func.count()).select_from(rv).join(
        m, and_(m.regime_id == rv.regime_id, m.period_key == rv.period_key, m.agency_code == rv.agency_code), isouter=True).where(
        rv.regime_id == regime_id, rv.period_key == period_key, rv.basis == BASIS, rv.tier == tier,
        (m.version_id.is_(None)) | (m.version_id != rv.version_id)))
    return not missing


def stored_pass(regime_id: int, cat, period_key: str, tier: int) -> tuple[int, list[dict]] | None:
    """The pass from the kept features (only the period's rows are read); None when they are not
    complete for the period."""
    if not complete(regime_id, period_key, tier):
        return None
    ids, peers, points, f = _read(regime_id, period_key, tier)
    found = rules.judge(f, peers, points)
    if not found:
        return len(ids), []
    wanted = [int(ids[x.row]) for x in found]
    c, rv, sv = QualityCell, RecordVersion, SubmissionValue
    detail = {row[0]: row[1:] for row in db.session.execute(
        select(c.id, c.agency_code, c.indicator, c.dkey, rv.province_code, sv.comment)
        .join(rv, and_(rv.regime_id == c.regime_id, rv.period_key == c.period_key, rv.agency_code == c.agency_code, rv.basis == BASIS))
        .join(sv, and_(sv.version_id == rv.version_id, sv.indicator == c.indicator, sv.dkey == c.dkey), isouter=True)
        .where(c.id.in_(wanted)))}
    out = []
    for x in found:
        code, ind, dkey, province, comment = detail[int(ids[x.row])]
        pts = bool(points[x.row])
        out.append(finding(code, ind, dkey, province, x, pts, (comment or "") if not dkey else ""))
    return len(ids), out


def finding(code: str, ind: str, dkey: str, province: str, x: rules.Finding, pts: bool, comment: str) -> dict:
    """A flagged cell as plain data (what the page, the API and a stored job result show)."""
    from .quality import _dec

    return {"agency": code, "indicator": ind, "dkey": dkey, "province": province, "value": str(_dec(x.value)),
            "expected": None if x.expected is None else str(_dec(x.expected, 0 if not pts else 1)),
            "score": round(x.score, 1), "basis": x.basis, "own": x.own_change, "peer": x.peer_change, "points": pts, "comment": comment}


def _read(regime_id: int, period_key: str, tier: int):
    """The period's kept features as arrays: PostgreSQL sends them in its binary COPY format, read
    straight into numpy (no Python object per value); SQLite by rows."""
    c = QualityCell
    names = ["id", "peers", "points", *rules.FEATURES]
    if db.session.get_bind().dialect.name == "postgresql":
        cols = ", ".join(["id::int8", "peers", "points::int::int8"] + [f"coalesce({n}, 'NaN'::float8)" for n in rules.FEATURES])
        sql = (f"COPY (SELECT {cols} FROM quality_cells WHERE regime_id = {int(regime_id)} AND period_key = %s AND tier = {int(tier)}) "
               "TO STDOUT (FORMAT binary)")
        buf = bytearray()
        with db.session.connection().connection.driver_connection.cursor() as cur, cur.copy(sql, (period_key,)) as copy:
            for block in copy:
                buf += block
        fields = [("n", ">i2")]
        for name in names:
            fields += [(f"{name}_len", ">i4"), (name, ">i8" if name in ("id", "peers", "points") else ">f8")]
        body = bytes(buf[19:-2])  # the 19-byte header (signature, flags, extension length) and the -1 trailer
        rows = np.frombuffer(body, dtype=np.dtype(fields)) if body else np.zeros(0, dtype=np.dtype(fields))
        ids, peers, points = rows["id"].astype(np.int64), rows["peers"].astype(np.int64), rows["points"].astype(bool)
        f = rules.Features.stack({n: rows[n].astype(float) for n in rules.FEATURES})
        return ids, peers, points, f
    data = db.session.execute(select(c.id, c.peers, c.points, *[getattr(c, n) for n in rules.FEATURES])
                              .where(c.regime_id == regime_id, c.period_key == period_key, c.tier == tier)).all()
    cols = list(zip(*data, strict=True)) if data else [[] for _ in names]
    ids = np.array(cols[0], dtype=np.int64)
    peers = np.array(cols[1], dtype=np.int64)
    points = np.array(cols[2], dtype=bool)
    f = rules.Features.stack({n: np.array([np.nan if v is None else v for v in cols[3 + i]], dtype=float)
                              for i, n in enumerate(rules.FEATURES)})
    return ids, peers, points, f
