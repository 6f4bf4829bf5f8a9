"""Reminders: the ledger of what was decided to be sent (unique per key, so never twice), the
mail outbox (delivered with retries), and in-app notifications."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

from .base import AwareDateTime, utcnow
from .user import User


class ReminderEvent(db.Model):
    """One reminder step for one report (or one daily digest for one receiver). The unique key is
    what makes a second run or a second scheduler process harmless."""

    __tablename__ = "reminder_events"
    __table_args__ = (UniqueConstraint("kind", "regime_code", "period_key", "agency_code", "step", name="uq_reminder_events_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # reminder | digest
    regime_code: Mapped[str] = mapped_column(String(40))  # "*" for a digest
    period_key: Mapped[str] = mapped_column(String(40))  # the local date for a digest
    agency_code: Mapped[str] = mapped_column(String(40), index=True)  # the receiver for a digest
    step: Mapped[int] = mapped_column(Integer)
    deadline_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow, index=True)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(Text, default="")

    messages: Mapped[list[MailMessage]] = relationship(back_populates="event")


class MailMessage(db.Model):
    __tablename__ = "mail_messages"
    __table_args__ = (UniqueConstraint("event_id", "to_address", name="uq_mail_messages_event_to"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("reminder_events.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    to_address: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(500))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # pending | sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    lease: Mapped[str | None] = mapped_column(String(40))
    lease_until: Mapped[datetime | None] = mapped_column(AwareDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)

    event: Mapped[ReminderEvent] = relationship(back_populates="messages")


class Notification(db.Model):
    """What the bell shows."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("reminder_events.id"))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(AwareDateTime)

    user: Mapped[User] = relationship()
