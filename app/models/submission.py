"""Reports agencies submit: one `Submission` per (regime, agency, period or request); every save
after a return, every upload and every API post is a new `SubmissionVersion`; values are rows;
every action is an event. Nothing is updated in place once sealed.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

from .agency import Agency
from .base import AwareDateTime, ExactDecimal, utcnow
from .catalogue import Regime, RegimeVersion
from .user import User


class AgencyKey(db.Model):
    """An agency's Ed25519 signing key. The private half is stored encrypted with a passphrase
    derived from the server's secret; the public half stays for verification after rotation."""

    __tablename__ = "agency_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    public_key: Mapped[str] = mapped_column(String(64), unique=True)
    private_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(AwareDateTime)


class ReportRequest(db.Model):
    """Yêu cầu báo cáo đột xuất / chuyên đề: a one-off request using a regime's forms."""

    __tablename__ = "report_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    regime_id: Mapped[int] = mapped_column(ForeignKey("regimes.id"))
    regime_version_id: Mapped[int] = mapped_column(ForeignKey("regime_versions.id"))
    title: Mapped[str] = mapped_column(String(500))
    content: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(20), default="ad_hoc")  # ad_hoc | thematic
    issuer_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    data_from: Mapped[date] = mapped_column(Date)
    data_to: Mapped[date] = mapped_column(Date)
    deadline_at: Mapped[datetime] = mapped_column(AwareDateTime)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)

    regime: Mapped[Regime] = relationship()
    regime_version: Mapped[RegimeVersion] = relationship()
    issuer_agency: Mapped[Agency] = relationship()
    issued_by: Mapped[User] = relationship()
    targets: Mapped[list[RequestTarget]] = relationship(back_populates="request", cascade="all, delete-orphan")

    @property
    def period_key(self) -> str:
        return f"YC{self.id}"


class RequestTarget(db.Model):
    __tablename__ = "request_targets"
    __table_args__ = (UniqueConstraint("request_id", "agency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("report_requests.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)

    request: Mapped[ReportRequest] = relationship(back_populates="targets")
    agency: Mapped[Agency] = relationship()


class Submission(db.Model):
    """The report one agency owes for one regime and period (or one request)."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("regime_id", "agency_id", "period_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    regime_id: Mapped[int] = mapped_column(ForeignKey("regimes.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    period_key: Mapped[str] = mapped_column(String(40))  # "2026-M03", or "YC12" for request 12
    request_id: Mapped[int | None] = mapped_column(ForeignKey("report_requests.id"))
    tier: Mapped[int] = mapped_column(Integer, default=0)
    receiver_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    deadline_at: Mapped[datetime] = mapped_column(AwareDateTime)
    lock_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    approved_version: Mapped[int | None] = mapped_column(Integer)  # the data the aggregator uses
    first_submitted_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    on_time: Mapped[bool | None] = mapped_column(Boolean)  # of the first submission
    reopened_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    reopen_reason: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)  # optimistic lock, checked on every write
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    regime: Mapped[Regime] = relationship()
    agency: Mapped[Agency] = relationship(foreign_keys=[agency_id])
    receiver: Mapped[Agency | None] = relationship(foreign_keys=[receiver_id])
    request: Mapped[ReportRequest | None] = relationship()
    updated_by: Mapped[User | None] = relationship()
    versions: Mapped[list[SubmissionVersion]] = relationship(
        back_populates="submission", order_by="SubmissionVersion.number", cascade="all, delete-orphan")

    # optimistic locking: every write sets revision + 1 and its UPDATE requires the old value
    __mapper_args__ = {"version_id_col": revision, "version_id_generator": False}

    def touch(self, user_id: int, now) -> None:
        if self.id is not None:
            self.revision = (self.revision or 1) + 1
        self.updated_at = now
        self.updated_by_id = user_id

    @property
    def latest(self) -> SubmissionVersion | None:
        return self.versions[-1] if self.versions else None

    def version(self, number: int) -> SubmissionVersion | None:
        return next((v for v in self.versions if v.number == number), None)


class SubmissionVersion(db.Model):
    __tablename__ = "submission_versions"
    __table_args__ = (UniqueConstraint("submission_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    regime_version_id: Mapped[int] = mapped_column(ForeignKey("regime_versions.id"))
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft|replaced|submitted|returned|approved
    source: Mapped[str] = mapped_column(String(20), default="web")  # web | excel | api
    file_name: Mapped[str | None] = mapped_column(String(255))
    outline: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    saved_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    seal_hash: Mapped[str | None] = mapped_column(String(64))
    seal_signature: Mapped[str | None] = mapped_column(String(128))
    seal_key_id: Mapped[int | None] = mapped_column(ForeignKey("agency_keys.id"))
    decided_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    # a compiled report (tổng hợp): the sources it was compiled from (unit → submission, version,
    # status), the compiled value of every cell, the units missing, the policy — frozen with the version
    compilation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # the system columns (previous period, same period last year, year to date, % change) as they
    # were when the version was sealed: a sealed page never changes when another period arrives later
    sealed_system: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    submission: Mapped[Submission] = relationship(back_populates="versions")
    regime_version: Mapped[RegimeVersion] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    seal_key: Mapped[AgencyKey | None] = relationship()
    values: Mapped[list[SubmissionValue]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="SubmissionValue.id")

    @property
    def sealed(self) -> bool:
        return self.seal_hash is not None


class SubmissionValue(db.Model):
    __tablename__ = "submission_values"
    __table_args__ = (UniqueConstraint("version_id", "indicator", "dkey"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("submission_versions.id"))
    indicator: Mapped[str] = mapped_column(String(40))
    dkey: Mapped[str] = mapped_column(String(200), default="")
    number: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    text: Mapped[str | None] = mapped_column(Text)
    estimate: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str] = mapped_column(Text, default="")

    version: Mapped[SubmissionVersion] = relationship(back_populates="values")


class SubmissionEvent(db.Model):
    """Who did what and when: created, saved, uploaded, submitted, approved, returned, reopened."""

    __tablename__ = "submission_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    version_number: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    detail: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped[User] = relationship()
