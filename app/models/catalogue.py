"""The catalogue in the database: indicators, disaggregations, regimes and their versions.

A regime version stores a self-contained snapshot (regime, forms, the indicators it used), so a
past report always renders against the definition it was made under.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

from .base import AwareDateTime, utcnow


class Disaggregation(db.Model):
    """Phân tổ."""

    __tablename__ = "disaggregations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_vi: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str | None] = mapped_column(String(255))
    options: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class Indicator(db.Model):
    """Chỉ tiêu: one concept, method and unit, reused by every regime that needs it."""

    __tablename__ = "indicators"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_vi: Mapped[str] = mapped_column(String(500), index=True)
    name_en: Mapped[str | None] = mapped_column(String(500))
    unit: Mapped[str] = mapped_column(String(50))
    value_type: Mapped[str] = mapped_column(String(20))
    aggregation: Mapped[str] = mapped_column(String(20))
    disaggregations: Mapped[list[str]] = mapped_column(JSON, default=list)
    min_value: Mapped[float | None] = mapped_column(Float)
    max_value: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str | None] = mapped_column(Text)
    numerator: Mapped[list[str]] = mapped_column(JSON, default=list)
    denominator: Mapped[list[str]] = mapped_column(JSON, default=list)
    scale: Mapped[float] = mapped_column(Float, default=1.0)
    source_file: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow, onupdate=utcnow)
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")  # code and names folded (collation.fold)


class Regime(db.Model):
    """Chế độ báo cáo. Listing fields mirror the current version for search and filters."""

    __tablename__ = "regimes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_vi: Mapped[str] = mapped_column(String(500), index=True)
    name_en: Mapped[str | None] = mapped_column(String(500))
    type: Mapped[str] = mapped_column(String(20), index=True)
    frequency: Mapped[str] = mapped_column(String(20), index=True)
    issuing_agency_code: Mapped[str] = mapped_column(String(40), index=True)
    legal_basis: Mapped[str | None] = mapped_column(String(500))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")  # code, names, legal basis folded

    versions: Mapped[list[RegimeVersion]] = relationship(
        back_populates="regime", order_by="RegimeVersion.version", cascade="all, delete-orphan"
    )

    @property
    def current_version(self) -> RegimeVersion:
        return self.versions[-1]


class RegimeVersion(db.Model):
    """An immutable published definition of a regime."""

    __tablename__ = "regime_versions"
    __table_args__ = (UniqueConstraint("regime_id", "version", name="uq_regime_versions_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    regime_id: Mapped[int] = mapped_column(ForeignKey("regimes.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    # deferred: parsed definitions are cached per (id, content_hash), so a request that only needs
    # the version row does not decode a large JSON document (services.catalogue.regime_definition)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(255))  # file path or "web"
    published_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)

    regime: Mapped[Regime] = relationship(back_populates="versions")
    indicator_links: Mapped[list[RegimeIndicator]] = relationship(cascade="all, delete-orphan")


class RegimeIndicator(db.Model):
    """Which indicators a regime version uses (answers "which regimes collect this?")."""

    __tablename__ = "regime_indicators"
    __table_args__ = (UniqueConstraint("regime_version_id", "indicator_code", name="uq_regime_indicators_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    regime_version_id: Mapped[int] = mapped_column(ForeignKey("regime_versions.id"), index=True)
    indicator_code: Mapped[str] = mapped_column(String(40), index=True)
    form_code: Mapped[str] = mapped_column(String(40))


class RegimeDraft(db.Model):
    """A regime being designed on the web: canonical documents (as in the files) not yet
    published. Publishing makes a RegimeVersion and deletes the draft."""

    __tablename__ = "regime_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    regime_code: Mapped[str] = mapped_column(String(40), unique=True)
    issuing_agency_code: Mapped[str] = mapped_column(String(40), index=True)
    base_version_id: Mapped[int | None] = mapped_column(ForeignKey("regime_versions.id"))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"regime": …, "forms": {code: …}, "indicators": [new ones]}
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    revision: Mapped[int] = mapped_column(Integer, default=1)

    base_version: Mapped[RegimeVersion | None] = relationship()

    __mapper_args__ = {"version_id_col": revision}
