"""The agency map (cơ quan, đơn vị): effective-dated units, parent links and lineage."""
from __future__ import annotations

from datetime import date
from enum import Enum

from sqlalchemy import (
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db


class Level(str, Enum):
    CENTRAL = "central"  # Chính phủ
    MINISTRY = "ministry"  # bộ, cơ quan ngang bộ
    PROVINCE = "province"  # tỉnh, thành phố trực thuộc trung ương
    DEPARTMENT = "department"  # sở, ban, ngành
    DISTRICT = "district"  # cấp huyện (ended 1 Jul 2025; kept for history)
    COMMUNE = "commune"  # xã, phường, đặc khu


LEVEL_ORDER = [Level.CENTRAL, Level.MINISTRY, Level.PROVINCE, Level.DEPARTMENT, Level.DISTRICT, Level.COMMUNE]


class Agency(db.Model):
    __tablename__ = "agencies"
    __table_args__ = (CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from", name="validity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # baocao's own stable code, e.g. T01.SCT
    name: Mapped[str] = mapped_column(String(255), index=True)
    level: Mapped[str] = mapped_column(String(20), index=True)
    kind: Mapped[str | None] = mapped_column(String(40))  # tỉnh, phường, SCT (department kind) …
    official_code: Mapped[str | None] = mapped_column(String(20), index=True)  # reused across 2025!
    edoc_code: Mapped[str | None] = mapped_column(String(30))  # Decision 20/2020/QĐ-TTg identifier
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(500))
    # derived from name and code on every write (app/adapters/collation.py): Vietnamese order, diacritic-blind search
    sort_name: Mapped[str] = mapped_column(String(1500), default="", server_default="", index=True)
    search_text: Mapped[str] = mapped_column(String(400), default="", server_default="")

    parent_links: Mapped[list[AgencyParent]] = relationship(
        foreign_keys="AgencyParent.child_id", back_populates="child", cascade="all, delete-orphan"
    )

    def exists_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)

    def parent_on(self, day: date) -> Agency | None:
        for link in self.parent_links:
            if link.covers(day):
                return link.parent
        return None

    def __repr__(self) -> str:
        return f"<Agency {self.code} {self.name}>"


class AgencyParent(db.Model):
    """An effective-dated parent link: a unit can move under another parent over time."""

    __tablename__ = "agency_parents"
    __table_args__ = (
        UniqueConstraint("child_id", "parent_id", "valid_from", name="uq_agency_parents_link"),
        Index("ix_agency_parents_parent", "parent_id", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    child: Mapped[Agency] = relationship(foreign_keys=[child_id], back_populates="parent_links")
    parent: Mapped[Agency] = relationship(foreign_keys=[parent_id])

    def covers(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


class AgencyLineage(db.Model):
    """Predecessor → successor (merger, split, renaming), with the share of the old unit's data."""

    __tablename__ = "agency_lineage"
    __table_args__ = (UniqueConstraint("predecessor_id", "successor_id", name="uq_agency_lineage_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    predecessor_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    successor_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    effective: Mapped[date] = mapped_column(Date)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    legal_basis: Mapped[str | None] = mapped_column(String(255))

    predecessor: Mapped[Agency] = relationship(foreign_keys=[predecessor_id])
    successor: Mapped[Agency] = relationship(foreign_keys=[successor_id])
