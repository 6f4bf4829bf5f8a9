"""What analysts follow: a value they marked for follow-up (with its thread of comments and
requests to the reporter), and the indicators each analyst keeps on the KPI page."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

from .agency import Agency
from .base import AwareDateTime, ExactDecimal, utcnow
from .catalogue import Regime
from .user import User


class FollowUp(db.Model):
    """One reported cell an analyst looks into: open → asked (the reporter was asked to check) →
    closed (explained, corrected, or accepted). One per cell; whoever marked it owns it."""

    __tablename__ = "follow_ups"
    __table_args__ = (UniqueConstraint("regime_id", "period_key", "agency_id", "indicator", "dkey", name="uq_follow_ups_cell"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    regime_id: Mapped[int] = mapped_column(ForeignKey("regimes.id"))
    period_key: Mapped[str] = mapped_column(String(40))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    indicator: Mapped[str] = mapped_column(String(40))
    dkey: Mapped[str] = mapped_column(String(200), default="")
    value: Mapped[Decimal | None] = mapped_column(ExactDecimal)  # as it was when marked
    expected: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    reason: Mapped[str] = mapped_column(Text, default="")  # why the check flagged it, in words
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | asked | closed
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)

    regime: Mapped[Regime] = relationship()
    agency: Mapped[Agency] = relationship()
    owner: Mapped[User] = relationship()
    comments: Mapped[list[FollowUpComment]] = relationship(back_populates="follow_up", order_by="FollowUpComment.id",
                                                           cascade="all, delete-orphan")


class FollowUpComment(db.Model):
    __tablename__ = "follow_up_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_ups.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(12))  # open | comment | ask | close | reopen
    text: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)

    follow_up: Mapped[FollowUp] = relationship(back_populates="comments")
    author: Mapped[User] = relationship()


class KpiPick(db.Model):
    """An indicator of a regime that an analyst follows on the KPI page, in the order chosen."""

    __tablename__ = "kpi_picks"
    __table_args__ = (UniqueConstraint("user_id", "regime_id", "indicator", name="uq_kpi_picks"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    regime_id: Mapped[int] = mapped_column(ForeignKey("regimes.id"))
    indicator: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)

    regime: Mapped[Regime] = relationship()


class QualityFeatures(db.Model):
    """One agency's approved report of a period, its typed values' features against their own
    history (app/domain/quality.py, Features), computed in the transaction that approves it — and
    again when an earlier period of the same agency changes — so that the period's outlier pass
    reads one row per agency, not every value and its history (app/services/quality_store.py).
    `version_id` is the approved version they were computed from: the pass uses the kept features
    only when every approved report of the period has its row from that very version."""

    __tablename__ = "quality_features"
    __table_args__ = (Index("ix_quality_features_period", "regime_id", "period_key", "tier"),)

    regime_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    agency_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    tier: Mapped[int] = mapped_column(Integer)
    version_id: Mapped[int] = mapped_column(Integer)
    province_code: Mapped[str] = mapped_column(String(40), default="")
    cells: Mapped[str] = mapped_column(Text, default="")  # "indicator<TAB>breakdown" per value, one per line
    notes: Mapped[str] = mapped_column(Text, default="")  # JSON {indicator: what the reporter wrote beside it}
    peers: Mapped[bytes] = mapped_column(LargeBinary)  # int64 per value: the same for the same indicator, breakdown, level
    points: Mapped[bytes] = mapped_column(LargeBinary)  # uint8 per value: a percentage or ratio (changes in points)
    features: Mapped[bytes] = mapped_column(LargeBinary)  # float64 per value × FEATURES, row by row (little-endian)
