"""Background work, durable: one row per job — what, for whom, its progress and result — in the
application's database. On PostgreSQL the row is run by procrastinate workers (any machine); on
the embedded default by a bounded pool of threads in the web process (app/services/jobs.py)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

from .base import AwareDateTime, utcnow


class Job(db.Model):
    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_jobs_kind_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # pdf | quality | rebuild | probe
    key: Mapped[str] = mapped_column(String(64))  # a hash of the inputs: identical requests share one job
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(12), default="queued", index=True)  # queued | running | done | failed
    step: Mapped[str] = mapped_column(String(300), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    error: Mapped[str] = mapped_column(Text, default="")
    result_path: Mapped[str] = mapped_column(String(300), default="")  # under JOB_STORAGE_DIR
    result_name: Mapped[str] = mapped_column(String(300), default="")
    result_bytes: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    run_after: Mapped[datetime | None] = mapped_column(AwareDateTime)  # back-off before the next attempt
