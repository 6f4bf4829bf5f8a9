"""Reading the audit log: an administrator sees the entries of accounts in their agency and the
agencies below it; the administrator of a top agency (no parent) also sees system and guest
entries (failed logins, scheduled jobs, CLI loads)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import or_, select

from app.extensions import db
from app.models import AgencyParent, AuditEntry, Role, User

from . import agencies
from .errors import Forbidden


def entries_in_scope(*, actor: User, who: str = "", entity: str = "", action: str = "",
                     day_from: date | None = None, day_to: date | None = None, tz=None):
    if not actor.has_role(Role.ADMIN):
        raise Forbidden("Chỉ quản trị hệ thống được xem nhật ký thao tác")
    ids = agencies.descendant_ids(agency_id=actor.agency_id)
    top = db.session.scalar(select(AgencyParent.id).where(AgencyParent.child_id == actor.agency_id).limit(1)) is None
    scope = AuditEntry.agency_id.in_(ids)
    if top:
        scope = or_(scope, AuditEntry.agency_id.is_(None))
    stmt = select(AuditEntry).where(scope)
    if who:
        stmt = stmt.where(AuditEntry.actor == who.strip().lower())
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity.strip())
    if action:
        stmt = stmt.where(AuditEntry.action == action.strip())
    if day_from:
        stmt = stmt.where(AuditEntry.at >= datetime.combine(day_from, time(), tz))
    if day_to:
        stmt = stmt.where(AuditEntry.at < datetime.combine(day_to + timedelta(days=1), time(), tz))
    return stmt.order_by(AuditEntry.id.desc())


def entities() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.entity).distinct().order_by(AuditEntry.entity)))
