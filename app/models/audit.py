"""The audit log: who changed what, when, from where. Written in the same transaction as the
change it records (so it holds exactly the changes that were committed), never updated."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

from .base import AwareDateTime, utcnow


class AuditEntry(db.Model):
    __tablename__ = "audit_log"
    __table_args__ = (  # failed logins are counted from here, per account and per address (app/services/sessions.py)
        Index("ix_audit_log_action_entity_id_at", "action", "entity_id", "at"),
        Index("ix_audit_log_action_ip_at", "action", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)  # no foreign key: the log outlives rows
    actor: Mapped[str] = mapped_column(String(120))  # username, or "hệ thống" / "cli: …"
    agency_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the actor's agency (for scoping the view)
    action: Mapped[str] = mapped_column(String(20))  # insert | update | delete | login | login_failed | logout
    entity: Mapped[str] = mapped_column(String(60), index=True)  # table name
    entity_id: Mapped[str] = mapped_column(String(60), default="")
    changes: Mapped[str] = mapped_column(Text, default="{}")  # JSON: inserted values, or {column: [old, new]}
    method: Mapped[str] = mapped_column(String(10), default="")
    path: Mapped[str] = mapped_column(String(300), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
