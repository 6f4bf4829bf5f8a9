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
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Numeric, String, and_, delete, select, type_coerce

from app.domain import aggregation as agg_rules
from app.domain import quality as rules
from app.domain.errors import DomainError
from app.domain.layout import Layout
from app.domain.periods import Period
from app.extensions import db
from app.models import Agency, RecordVersion, Regime, SubmissionValue
from app.models.quality import QualityFeatures

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
    query = (select(rv.period_key, rv.agency_code, rv.province_code, sv.indicator, sv.dkey, _raw(sv.number), sv.comment)
             .join(sv, sv.version_id == rv.version_id).where(*where))
    names = ["period", "agency", "province", "indicator", "dkey", "number", "comment"]
    frame = _frame(query, names)
    if frame.empty:
        return Gathered([], np.full((0, width), np.nan), {}, {}, per_year)
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


def _frame(query, names: list[str]) -> pd.DataFrame:
    """A query's rows as a DataFrame of text columns. PostgreSQL: COPY … TO STDOUT as CSV, parsed by
    pandas (millions of rows in seconds — a Python tuple per row took a minute at ten million);
    SQLite: by rows."""
    if db.session.get_bind().dialect.name == "postgresql":
        import io

        sql = query.compile(dialect=db.session.get_bind().dialect, compile_kwargs={"render_postcompile": True})
        buf = io.BytesIO()
        with db.session.connection().connection.driver_connection.cursor() as cur, \
                cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", sql.params) as copy:
            for block in copy:
                buf.write(block)
        buf.seek(0)
        if not buf.getbuffer().nbytes:
            return pd.DataFrame({n: pd.Series(dtype=str) for n in names})
        return pd.read_csv(buf, names=names, dtype=str, keep_default_na=False, na_filter=False)
    rows = db.session.connection().execute(query).all()  # Core rows, no ORM bookkeeping
    if not rows:
        return pd.DataFrame({n: pd.Series(dtype=str) for n in names})
    return pd.DataFrame(dict(zip(names, zip(*rows, strict=True), strict=True)))  # by column: fast


def peers_of(indicator: str, dkey: str, level: str) -> int:
    """The same number for the cells compared with each other (same indicator, breakdown, level)."""
    return int.from_bytes(hashlib.blake2b(f"{indicator}|{dkey}|{level}".encode(), digest_size=8).digest(), "big", signed=True)


# ------------------------------------------------------------------------------------ keeping
def keep(regime_id: int, definition, cat, p: Period, tier: int, agencies: Iterable[str] | None = None) -> int:
    """Compute and store the features of the period's approved values (of `agencies`, or all),
    one row per agency report, replacing what was kept for them. Returns the values kept."""
    g = gather(regime_id, definition, cat, p, tier, BASIS, agencies)
    scope = [QualityFeatures.regime_id == regime_id, QualityFeatures.period_key == p.key]
    if agencies is not None:
        scope.append(QualityFeatures.agency_code.in_(list(agencies)))
    db.session.execute(delete(QualityFeatures).where(*scope))
    rv = RecordVersion
    records = db.session.execute(select(rv.agency_code, rv.version_id, rv.province_code).where(
        rv.regime_id == regime_id, rv.period_key == p.key, rv.basis == BASIS, rv.tier == tier,
        *([rv.agency_code.in_(list(agencies))] if agencies is not None else []))).all()
    levels = dict(db.session.execute(select(Agency.code, Agency.level).where(Agency.code.in_({a for a, _, _ in records}))).all()) if records else {}
    f = np.column_stack(list(rules.features(g.history, _points(cat, g.cells), g.per_year).columns().values())) if g.cells else None
    noted: dict[str, dict[str, str]] = {}
    for (code, ind), note in g.comment.items():
        noted.setdefault(code, {})[ind] = note
    at: dict[str, list[int]] = {}
    for i, (code, _ind, _key) in enumerate(g.cells):
        at.setdefault(code, []).append(i)
    rows = []
    for code, version_id, province in records:
        idx = at.get(code, [])
        cells = [g.cells[i] for i in idx]
        rows.append({"regime_id": regime_id, "period_key": p.key, "agency_code": code, "tier": tier, "version_id": version_id,
                     "province_code": province, "cells": "\n".join(f"{ind}\t{key}" for _c, ind, key in cells),
                     "notes": json.dumps(noted[code], ensure_ascii=False) if code in noted else "",
                     "peers": np.array([peers_of(ind, key, levels.get(code, "")) for _c, ind, key in cells], dtype="<i8").tobytes(),
                     "points": _points(cat, cells).astype(np.uint8).tobytes(),
                     "features": np.ascontiguousarray(f[idx], dtype="<f8").tobytes() if idx else b""})
    insert_many(QualityFeatures.__table__, rows)
    return len(g.cells)


def _points(cat, cells) -> np.ndarray:
    return np.array([agg_rules.in_points(cat.indicators[ind]) for _, ind, _ in cells], dtype=bool)


def refresh(regime_id: int, period_key: str, tier: int, agency: str) -> None:
    """An agency's approved report of a period changed (aggregation.refresh, same transaction):
    its features for that period and for its later periods that read it as history."""
    regime = db.session.get(Regime, regime_id)
    definition, cat = regime_definition(regime.current_version)
    try:
        p = Period.parse(period_key)
    except DomainError:  # a period the domain does not know (an ad hoc key) has nothing to keep
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
    if r is None or r.current_version is None:
        from .errors import NotFound

        raise NotFound(f"Không có chế độ báo cáo mã “{regime[:40]}”")
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
        except DomainError:  # not a period of the calendar: nothing to keep
            continue
        total += keep(r.id, definition, cat, p, tier)
        db.session.commit()
        progress(i, len(scopes))
    return total


# ------------------------------------------------------------------------------------ the pass
def stored_pass(regime_id: int, cat, period_key: str, tier: int) -> tuple[int, list[dict]] | None:
    """The pass from the kept features: one row per agency report of the period; None unless every
    approved report of the period has its row, from the version that counts now."""
    rv, q = RecordVersion, QualityFeatures
    query = (select(rv.agency_code, rv.version_id, q.version_id, q.province_code, q.peers, q.points, q.features)
             .join(q, and_(q.regime_id == rv.regime_id, q.period_key == rv.period_key, q.agency_code == rv.agency_code), isouter=True)
             .where(rv.regime_id == regime_id, rv.period_key == period_key, rv.basis == BASIS, rv.tier == tier))
    rows = _binary_rows(query)
    if any(kept != counted for _a, counted, kept, *_ in rows):
        return None
    rows = [r for r in rows if r[6]]
    width = len(rules.FEATURES)
    sizes = np.array([len(r[4]) // 8 for r in rows], dtype=np.int64)
    peers = np.frombuffer(b"".join(r[4] for r in rows), dtype="<i8")
    points = np.frombuffer(b"".join(r[5] for r in rows), dtype=np.uint8).astype(bool)
    matrix = np.frombuffer(b"".join(r[6] for r in rows), dtype="<f8").reshape(-1, width)
    f = rules.Features.stack({name: matrix[:, i] for i, name in enumerate(rules.FEATURES)})
    found = rules.judge(f, peers, points)
    if not found:
        return int(sizes.sum()), []
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    owner = np.searchsorted(starts, [x.row for x in found], side="right") - 1
    flagged = {rows[j][0]: j for j in set(owner.tolist())}
    cells, notes, split = {}, {}, {}
    for code, text, noted in db.session.execute(select(q.agency_code, q.cells, q.notes).where(
            q.regime_id == regime_id, q.period_key == period_key, q.agency_code.in_(list(flagged)))):
        cells[flagged[code]] = split.get(text) or split.setdefault(text, text.split("\n"))  # most reports share one form
        notes.update({(flagged[code], ind): note for ind, note in (json.loads(noted) if noted else {}).items()})
    out = []
    for x, j in zip(found, owner.tolist(), strict=True):
        ind, key = cells[j][x.row - int(starts[j])].split("\t")
        out.append(finding(rows[j][0], ind, key, rows[j][3], x, bool(points[x.row]), notes.get((j, ind), "") if not key else ""))
    return int(sizes.sum()), out


def _text(x: float) -> str:
    """A figure as exact decimal text, whole numbers without a fraction ("1234", "12.5")."""
    if abs(x) < 1e15 and x == int(x):  # (not for inf or NaN: the comparison fails first)
        return str(int(x))
    return repr(x)


def _binary_rows(query) -> list[tuple]:
    """PostgreSQL: in the binary protocol (the blobs arrive as they are stored — the text protocol
    doubles them in hex and took twice as long); SQLite: as usual."""
    bind = db.session.get_bind()
    if bind.dialect.name != "postgresql":
        return [tuple(r) for r in db.session.execute(query).all()]
    sql = query.compile(dialect=bind.dialect, compile_kwargs={"render_postcompile": True})
    with db.session.connection().connection.driver_connection.cursor(binary=True) as cur:
        cur.execute(str(sql), sql.params)
        return cur.fetchall()


def finding(code: str, ind: str, dkey: str, province: str, x: rules.Finding, pts: bool, comment: str) -> dict:
    """A flagged cell as plain data (what the page, the API and a stored job result show)."""
    return {"agency": code, "indicator": ind, "dkey": dkey, "province": province, "value": _text(x.value),
            "expected": None if x.expected is None else _text(round(x.expected, 1 if pts else 0)),
            "score": round(x.score, 1), "basis": x.basis, "own": x.own_change, "peer": x.peer_change, "points": pts, "comment": comment}
