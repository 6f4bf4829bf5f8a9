"""Computed reporting-center views kept in the database, shared by every app server.

The national view of 250 indicators reads every province's partials of three periods and compares
them like for like: hundreds of milliseconds at ten million values, the same answer for every
analyst until a report of one of those periods changes. Each write to a (regime, period)'s record
versions or partials sets a new stamp for it in the same transaction (aggregation.py); a computed
view keeps the stamps of the periods it read and is used only while they all still hold. The agency
map has its own stamp (regime 0, "map"): names, lineage and obligations follow it.

Stamps are read *before* the view is computed, so a view can be stored with stamps older than its
figures (the next reader recomputes, harmless) but never with newer ones. Nothing here knows what a
view contains: center.py packs and unpacks it (center_types.py).
"""
from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, select, tuple_
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.models import AggregateStamp, CenterView

log = logging.getLogger(__name__)
MAP = (0, "map")
KEEP_DAYS = 30  # a view nobody asked for again in a month is dropped (jobs-housekeeping)


def _upsert(model, values: dict, keys: list[str], update: list[str]):
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(model).values(**values)
    return stmt.on_conflict_do_update(index_elements=keys, set_={c: stmt.excluded[c] for c in update})


def bump(regime_id: int, period_key: str) -> None:
    """A (regime, period)'s figures changed in this transaction: views that read it are stale."""
    db.session.execute(_upsert(AggregateStamp, {"regime_id": regime_id, "period_key": period_key, "stamp": uuid.uuid4().hex},
                               ["regime_id", "period_key"], ["stamp"]))


def bump_map() -> None:
    bump(*MAP)


def stamps(pairs: Iterable[tuple[int, str]]) -> str:
    pairs = sorted(set(pairs) | {MAP})
    found = dict(((r, p), s) for r, p, s in db.session.execute(
        select(AggregateStamp.regime_id, AggregateStamp.period_key, AggregateStamp.stamp)
        .where(tuple_(AggregateStamp.regime_id, AggregateStamp.period_key).in_(pairs))))
    return ",".join(found.get(pair, "-") for pair in pairs)


def key_of(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def lookup(key: str, regime_id: int, period_keys: Iterable[str]) -> tuple[dict | None, str]:
    """(the kept payload while the stamps of (regime, each period) and of the map hold — else None,
    the stamps as they are now: store the view computed next under them)."""
    now_stamps = stamps((regime_id, k) for k in period_keys)
    # a plain read of the payload, only when the stamps match (no stale payload loaded, no ORM identity map)
    payload = db.session.scalar(select(CenterView.payload).where(CenterView.key == key, CenterView.stamps == now_stamps))
    return (json.loads(payload) if payload is not None else None), now_stamps


def store(key: str, regime_id: int, period: str, now_stamps: str, payload: dict) -> None:
    """Keep a computed view for the next reader — on its own connection, committed at once: a page
    view (GET) never commits its session. A view computed inside a transaction that wrote is stored
    under that transaction's stamps — if it rolls back, those stamps never come again. SQLite: only
    from a reader (a writer holds the one write lock), waiting at most 0,2 s; a failure to store
    never fails the reader."""
    from app.extensions import _may_write

    bind = db.session.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite and _may_write():
        return
    row = {"key": key, "regime_id": regime_id, "period_key": period, "stamps": now_stamps,
           "payload": json.dumps(payload, ensure_ascii=False, separators=(",", ":")), "made_at": datetime.now(UTC)}
    try:
        if isinstance(bind, Connection):  # a session bound to one connection (the test suite's): its own transaction
            with db.session.begin_nested():
                db.session.execute(_upsert(CenterView, row, ["key"], ["stamps", "payload", "made_at"]))
            return
        with bind.connect() as conn:
            if sqlite:
                conn.exec_driver_sql("PRAGMA busy_timeout=200")
            try:
                with conn.begin():
                    conn.execute(_upsert(CenterView, row, ["key"], ["stamps", "payload", "made_at"]))
            finally:
                if sqlite:
                    conn.exec_driver_sql("PRAGMA busy_timeout=5000")
    except SQLAlchemyError as exc:
        log.info("center view not stored (%s): it is computed again next time", type(exc).__name__)


def prune(days: int = KEEP_DAYS) -> int:
    """Drop views not recomputed for `days` (the housekeeping job)."""
    cut = datetime.now(UTC) - timedelta(days=days)
    return db.session.execute(delete(CenterView).where(CenterView.made_at < cut)).rowcount or 0
