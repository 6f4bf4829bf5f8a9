"""What the reporting center reads. `RecordVersion` says which version of each agency's report
counts (per basis: only approved, or the latest submitted); `Aggregate` holds mergeable partials
per (regime, period, tier, basis, unit, indicator, breakdown) for each province (as reported), the
ministries ("BO") and the nation ("CP"). Both are maintained in the transaction that changes a
submission, and can be rebuilt from the raw values."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

from .base import AwareDateTime, ExactDecimal


class RecordVersion(db.Model):
    __tablename__ = "record_versions"
    __table_args__ = (
        UniqueConstraint("regime_id", "period_key", "basis", "agency_code", name="uq_record_versions_key"),
        Index("ix_record_versions_scope", "regime_id", "period_key", "basis", "tier", "province_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    regime_id: Mapped[int] = mapped_column(ForeignKey("regimes.id"))
    period_key: Mapped[str] = mapped_column(String(40))
    basis: Mapped[str] = mapped_column(String(12))  # approved | latest (submitted or approved)
    tier: Mapped[int] = mapped_column(Integer)
    agency_code: Mapped[str] = mapped_column(String(40))
    province_code: Mapped[str] = mapped_column(String(40))  # as reported; "BO" for central agencies
    version_id: Mapped[int] = mapped_column(ForeignKey("submission_versions.id"))
    reported_at: Mapped[datetime] = mapped_column(AwareDateTime)


class Aggregate(db.Model):
    __tablename__ = "aggregates"
    __table_args__ = (
        UniqueConstraint("regime_id", "period_key", "tier", "basis", "unit_code", "indicator", "dkey", name="uq_aggregates_key"),
        Index("ix_aggregates_read", "regime_id", "basis", "tier", "unit_code", "period_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    regime_id: Mapped[int] = mapped_column(ForeignKey("regimes.id"))
    period_key: Mapped[str] = mapped_column(String(40))
    tier: Mapped[int] = mapped_column(Integer)
    basis: Mapped[str] = mapped_column(String(12))
    unit_code: Mapped[str] = mapped_column(String(40))  # a province (as reported), "BO", or "CP" for the nation
    indicator: Mapped[str] = mapped_column(String(40))
    dkey: Mapped[str] = mapped_column(String(200), default="")
    n: Mapped[int] = mapped_column(Integer)
    total: Mapped[Decimal] = mapped_column(ExactDecimal)
    minimum: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    maximum: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    latest_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    latest: Mapped[Decimal | None] = mapped_column(ExactDecimal)


class AggregateStamp(db.Model):
    """Changes with every write to the record versions or partials of a (regime, period) — in the
    same transaction (aggregation.py). Regime 0, period "map": the agency map. A computed view
    remembers the stamps it was made from and is used only while they hold (center_cache.py)."""
    __tablename__ = "aggregate_stamps"

    regime_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    stamp: Mapped[str] = mapped_column(String(32))


class CenterView(db.Model):
    """A reporting-center view as computed (rows, units one level down, counts), keyed by what was
    asked; valid while the stamps of the periods it read are those it was made from."""
    __tablename__ = "center_views"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # hash of regime version, period, unit, mode, basis, tier, …
    regime_id: Mapped[int] = mapped_column(Integer, index=True)
    period_key: Mapped[str] = mapped_column(String(40))
    stamps: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)
    made_at: Mapped[datetime] = mapped_column(AwareDateTime)
