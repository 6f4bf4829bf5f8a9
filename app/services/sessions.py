"""Web sign-ins held server-side, and failed-login throttling counted in the database.

A sign-in is a `user_sessions` row; the session cookie names it by a random token (only its hash
is stored). Logout ends that sign-in, a password change or "đăng xuất mọi nơi" ends every sign-in
of the user, so a copied cookie stops working at once, on every app server.

Failed logins are already recorded in the audit log (action `login_failed`, with the account name
and the client address); the limits are counted there, so every worker and every app server sees
the same count — an in-memory limiter counts per process."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from limits import parse_many
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import AuditEntry, User, UserSession
from app.models.base import utcnow


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(*, user: User) -> User:
    """A new sign-in for `user`; the returned user carries its token for the cookie."""
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(user_id=user.id, token_hash=_hash(token)))
    user.session_token = token
    return user


def load(session_id: str) -> User | None:
    """The user of a live sign-in named "<user id>:<token>", or None."""
    user_id, _, token = (session_id or "").partition(":")
    if not user_id.isdigit() or not token or len(token) > 100:
        return None
    user = db.session.scalar(select(User).join(UserSession, UserSession.user_id == User.id)
                             .where(User.id == int(user_id), UserSession.token_hash == _hash(token),
                                    UserSession.revoked_at.is_(None)))
    if user is not None:
        user.session_token = token
    return user


def end(*, user: User) -> None:
    """End the sign-in `user` was loaded for."""
    if user.session_token:
        db.session.execute(update(UserSession).where(UserSession.token_hash == _hash(user.session_token),
                                                     UserSession.revoked_at.is_(None)).values(revoked_at=utcnow()))


def end_all(*, user: User) -> int:
    """End every sign-in of the user (password changed, "log out everywhere")."""
    return db.session.execute(update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
                              .values(revoked_at=utcnow())).rowcount


def live_count(*, user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(UserSession)
                             .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))) or 0


def throttled(*, username: str, address: str, per_account: str, per_address: str, now: datetime | None = None) -> int | None:
    """Seconds to wait when the failed logins of this account (or from this address) reached a
    limit ("5 per minute;20 per hour"), else None."""
    now = now or utcnow()
    for column, key, spec in ((AuditEntry.entity_id, username[:60], per_account), (AuditEntry.ip, address[:64], per_address)):
        if not key:
            continue
        for limit in parse_many(spec):
            window = timedelta(seconds=limit.get_expiry())
            count = db.session.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.action == "login_failed", column == key, AuditEntry.at > now - window))
            if count >= limit.amount:
                return int(window.total_seconds())
    return None
