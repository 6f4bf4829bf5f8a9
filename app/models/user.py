"""Accounts: every user belongs to one agency and has one role."""
from __future__ import annotations

from datetime import datetime
from enum import Enum

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

from .agency import Agency
from .base import AwareDateTime, utcnow


class Role(str, Enum):
    REPORTER = "reporter"  # người lập báo cáo
    APPROVER = "approver"  # người duyệt (over the agency and the agencies below it)
    DESIGNER = "designer"  # người thiết kế chế độ báo cáo
    ANALYST = "analyst"  # chuyên viên trung tâm báo cáo
    ADMIN = "admin"  # quản trị hệ thống


ROLE_LABELS_VI = {
    Role.REPORTER: "Người lập báo cáo",
    Role.APPROVER: "Người phê duyệt",
    Role.DESIGNER: "Người thiết kế chế độ báo cáo",
    Role.ANALYST: "Chuyên viên tổng hợp (trung tâm báo cáo)",
    Role.ADMIN: "Quản trị hệ thống",
}


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(5))
    mail_notices: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())  # notices by e-mail too
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)

    agency: Mapped[Agency] = relationship()

    @property
    def is_active(self) -> bool:  # flask-login refuses inactive users
        return self.active

    session_token = None  # the web sign-in this object was loaded for (not a column; app/services/sessions.py)

    def get_id(self) -> str:
        """Flask-Login's "alternative token": the user id and the sign-in's token, so that a cookie
        replayed after its sign-in ended no longer loads the user (app/auth.py)."""
        return f"{self.id}:{self.session_token or ''}"

    def has_role(self, *roles: Role) -> bool:
        return self.role in {r.value for r in roles}


class ApiToken(db.Model):
    """A bearer token for machine-to-machine use; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(AwareDateTime)

    user: Mapped[User] = relationship()


class UserSession(db.Model):
    """A web sign-in, held server-side so it can end: logout ends this one; a password change or
    "đăng xuất mọi nơi" ends all of the user's. The cookie carries a random token; only its
    SHA-256 is stored."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
