"""Every write recorded with who, when and what: one SQLAlchemy `after_flush` hook writes an
`audit_log` row per inserted, changed or deleted object, in the same transaction as the change.

Left out (see docs/decisions/0007-audit-log.md): tables that are themselves ledgers or derived
data — submission values (their version row is logged, with the content hash), aggregates and
record versions (rebuilt from submissions), the reminder ledger, mail outbox and notifications.
Secrets (password and token hashes) are never copied; long texts are shortened.
"""
from __future__ import annotations

import contextvars
import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from flask import g, has_request_context, request
from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session

from .models import AuditEntry
from .models.base import utcnow

SKIP_TABLES = {"audit_log", "submission_values", "aggregates", "record_versions", "reminder_events",
               "mail_messages", "notifications", "user_sessions", "jobs"}  # sign-ins: logged as login/logout; jobs: a ledger
SECRET_COLUMNS = {"password_hash", "token_hash"}
DERIVED_COLUMNS = {"sort_name", "search_text"}  # recomputed from the name on every write (models/derived.py)
NOISE_COLUMNS = {"last_used_at", "updated_at", "revision"} | DERIVED_COLUMNS  # bookkeeping a change of its own does not make
MAX_TEXT = 200

# who acts outside a web request (CLI commands set it; the scheduler says "hệ thống")
actor_outside_requests: contextvars.ContextVar[str] = contextvars.ContextVar("audit_actor", default="hệ thống")


def init_app(app) -> None:
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


def record(action: str, *, entity: str = "users", entity_id: str = "", changes: dict | None = None,
           session: Session | None = None) -> None:
    """An entry that is not a row change (login, failed login, logout); committed by the caller."""
    from .extensions import db

    (session or db.session).execute(insert(AuditEntry.__table__), [_entry(action, entity, entity_id, changes or {})])


def _after_flush(session: Session, _flush_context) -> None:
    rows = []
    for action, objects in (("insert", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            table = getattr(obj, "__tablename__", None)
            if table is None or table in SKIP_TABLES:
                continue
            changes = _changes(obj, action)
            if action == "update" and not changes:
                continue
            rows.append(_entry(action, table, _identity(obj), changes))
    if rows:
        session.connection().execute(insert(AuditEntry.__table__), rows)


def _changes(obj, action: str) -> dict:
    state = inspect(obj)
    out = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in SECRET_COLUMNS:
            if action == "update" and state.attrs[key].history.has_changes():
                out[key] = "(đã đổi)"
            continue
        hist = state.attrs[key].history
        if action == "update":
            if key in NOISE_COLUMNS or not hist.has_changes():
                continue
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            out[key] = [_plain(old), _plain(new)]
        elif action == "insert":
            value = getattr(obj, key, None)
            if value is not None and key not in DERIVED_COLUMNS:
                out[key] = _plain(value)
    return out


def _identity(obj) -> str:
    ident = inspect(obj).identity
    return ",".join(str(v) for v in ident) if ident else ""


def _plain(value):
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + "…"
    if value is None or isinstance(value, (int, float, bool, str)):
        return value
    return str(value)[:MAX_TEXT]


def _entry(action: str, entity: str, entity_id: str, changes: dict) -> dict:
    user = g.get("_login_user") if has_request_context() else None
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    return {
        "at": utcnow(),
        "user_id": user.id if authenticated else None,
        "actor": user.username if authenticated else ("khách" if has_request_context() else actor_outside_requests.get()),
        "agency_id": user.agency_id if authenticated else None,
        "action": action,
        "entity": entity,
        "entity_id": entity_id[:60],
        "changes": json.dumps(changes, ensure_ascii=False, default=str),
        "method": request.method if has_request_context() else "",
        "path": request.path[:300] if has_request_context() else "",
        "ip": (request.remote_addr or "")[:64] if has_request_context() else "",
    }
