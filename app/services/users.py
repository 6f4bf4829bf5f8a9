"""Accounts: create, authenticate (argon2), scope, and API tokens."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import date

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from app.domain.contacts import check_email, one_line
from app.domain.errors import DomainError, Problem
from app.domain.passwords import password_problems
from app.extensions import db
from app.models import ApiToken, Role, User
from app.models.base import utcnow

from . import agencies
from .errors import Forbidden, Invalid, NotFound

# argon2id with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane): ~25 ms a login here.
# argon2-cffi's default (64 MiB, 3 passes, 4 lanes) took ~140 ms on both cores and saturated a
# 2-core server when a province logs in at once (docs/performance.md). Hashes made with other
# parameters are upgraded at the next successful login (check_needs_rehash).
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,79}$")


def create_user(*, username: str, password: str, full_name: str, role: str, agency_code: str,
                email: str | None = None, commit: bool = True, actor: User | None = None) -> User:
    """Create an account; every problem is reported at once."""
    problems = []
    username = (username or "").strip().lower()
    if not USERNAME_RE.match(username):
        problems.append(Problem("tên đăng nhập chỉ gồm chữ thường không dấu, số, “. _ -”, 3–80 ký tự", where="username"))
    elif db.session.scalar(select(User.id).where(User.username == username)):
        problems.append(Problem(f"tên đăng nhập “{username}” đã tồn tại", where="username"))
    problems += [Problem(m, where="password") for m in password_problems(password, username=username, full_name=full_name)]
    if role not in {r.value for r in Role}:
        problems.append(Problem(f"vai trò “{role}” không hợp lệ; chọn: {', '.join(r.value for r in Role)}", where="role"))
    full_name = one_line(full_name)
    if not full_name:
        problems.append(Problem("thiếu họ và tên", where="full_name"))
    try:
        email = check_email(email)
    except DomainError as exc:
        problems.append(Problem(str(exc), where="email"))
    agency = None
    try:  # a code, or a name the picker or the administrator typed (namesakes refused with their provinces)
        scope = agencies.descendant_ids(agency_id=actor.agency_id) if actor is not None else None
        agency = agencies.resolve(text=agency_code, within=scope)
        if not agency.exists_on(date.today()):
            problems.append(Problem(f"cơ quan “{agency.name}” ({agency.code}) đã ngừng hoạt động", where="agency"))
        elif scope is not None and agency.id not in scope:
            problems.append(Problem(f"cơ quan “{agency.name}” ({agency.code}) nằm ngoài phạm vi quản lý của bạn", where="agency"))
    except (NotFound, Invalid) as exc:
        problems.append(Problem(str(exc), where="agency"))
    if problems:
        raise Invalid("Không tạo được tài khoản", problems)
    user = User(username=username, password_hash=_hasher.hash(password), full_name=full_name,
                role=role, agency_id=agency.id, email=email)
    db.session.add(user)
    if commit:
        db.session.commit()
    return user


def authenticate(*, username: str, password: str) -> User | None:
    """The active user with these credentials, or None (same answer for unknown user or bad password)."""
    user = db.session.scalar(select(User).where(User.username == (username or "").strip().lower()))
    if user is None:
        _hasher.hash(password or "x")  # spend the same time either way
        return None
    try:
        _hasher.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        db.session.commit()
    return user if user.active else None


def change_password(*, user: User, current: str, new: str) -> None:
    """The user's own password: the current one must be right and the new one pass the policy."""
    problems = []
    try:
        _hasher.verify(user.password_hash, current or "")
    except (VerificationError, InvalidHashError):
        problems.append(Problem("mật khẩu hiện tại không đúng", where="current"))
    problems += [Problem(m, where="new") for m in password_problems(new, username=user.username, full_name=user.full_name)]
    if not problems and current == new:
        problems.append(Problem("mật khẩu mới phải khác mật khẩu hiện tại", where="new"))
    if problems:
        raise Invalid("Không đổi được mật khẩu", problems)
    user.password_hash = _hasher.hash(new)
    db.session.commit()


def set_active(*, actor: User, user_id: int, active: bool) -> User:
    user = get_user_in_scope(actor=actor, user_id=user_id)
    if user.id == actor.id and not active:
        raise Invalid("Không thể tự khóa tài khoản của mình")
    user.active = active
    db.session.commit()
    return user


def get_user_in_scope(*, actor: User, user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.agency_id not in agencies.descendant_ids(agency_id=actor.agency_id):
        raise NotFound("Không có tài khoản này trong phạm vi quản lý của bạn")
    return user


def users_in_scope(*, actor: User):
    """An administrator manages the accounts of their agency and the agencies below it."""
    if not actor.has_role(Role.ADMIN):
        raise Forbidden("Chỉ quản trị hệ thống được quản lý tài khoản")
    ids = agencies.descendant_ids(agency_id=actor.agency_id)
    return select(User).where(User.agency_id.in_(ids)).order_by(User.username)


def issue_token(*, user: User, name: str = "api") -> str:
    """A new bearer token; only its hash is stored, so it is shown once."""
    token = "bc_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), name=name[:100] or "api"))
    db.session.commit()
    return token


def user_for_token(token: str) -> User | None:
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token), ApiToken.revoked_at.is_(None)))
    if row is None or not row.user.active:
        return None
    row.last_used_at = utcnow()
    db.session.commit()
    return row.user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def agencies_in_scope(*, user: User) -> set[int]:
    """The agencies a user acts for: their own; an approver or administrator also every unit below it."""
    if user.has_role(Role.APPROVER, Role.ADMIN):
        return agencies.descendant_ids(agency_id=user.agency_id, on=date.today())
    return {user.agency_id}


def tokens_of(*, user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))


def revoke_token(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens (kept, marked revoked, for the record)."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("Không có mã truy cập này")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()
    return row
