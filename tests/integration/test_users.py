"""Accounts: argon2 hashes, every problem at once, agency scope."""
import pytest

from app.extensions import db
from app.models import Role, User
from app.services import users
from app.services.errors import Invalid, NotFound
from app.services.seed import DEMO_PASSWORD


def test_passwords_are_stored_as_argon2_hashes(app):
    user = users.create_user(username="nguoi.moi", password="mat-khau-dai-1", full_name="Người Mới", role="reporter", agency_code="T01.SCT")
    assert user.password_hash.startswith("$argon2id$") and "mat-khau" not in user.password_hash
    assert users.authenticate(username="NGUOI.MOI", password="mat-khau-dai-1").id == user.id
    assert users.authenticate(username="nguoi.moi", password="sai") is None
    assert users.authenticate(username="khong.co", password="x") is None


def test_every_problem_is_reported_at_once(app):
    with pytest.raises(Invalid) as exc:
        users.create_user(username="X", password="short", full_name=" ", role="king", agency_code="NOPE")
    fields = {p.where for p in exc.value.problems}
    assert fields == {"username", "password", "role", "full_name", "agency"}


def test_duplicate_username_and_closed_agency_are_refused(app):
    with pytest.raises(Invalid) as exc:
        users.create_user(username="canbo.sct", password="mot-cum-tu-de-nho", full_name="A", role="reporter", agency_code="T15-63")
    messages = " ".join(p.message for p in exc.value.problems)
    assert "đã tồn tại" in messages and "ngừng hoạt động" in messages


def test_deactivated_user_cannot_log_in(app):
    admin = db.session.scalar(db.select(User).filter_by(username="quantri"))
    user = db.session.scalar(db.select(User).filter_by(username="canbo.sct"))
    users.set_active(actor=admin, user_id=user.id, active=False)
    assert users.authenticate(username="canbo.sct", password=DEMO_PASSWORD) is None


def test_an_admin_only_manages_accounts_below_their_agency(app):
    hanoi_admin = users.create_user(username="qt.hanoi", password="mot-cum-tu-de-nho", full_name="QT", role=Role.ADMIN.value, agency_code="T01")
    visible = {u.username for u in db.session.scalars(users.users_in_scope(actor=hanoi_admin))}
    assert "canbo.sct" in visible and "phantich.vpcp" not in visible
    other = db.session.scalar(db.select(User).filter_by(username="phantich.vpcp"))
    with pytest.raises(NotFound):
        users.set_active(actor=hanoi_admin, user_id=other.id, active=False)
    with pytest.raises(Invalid) as exc:
        users.create_user(username="ngoai.pham.vi", password="mot-cum-tu-de-nho", full_name="A", role="reporter", agency_code="BCT", actor=hanoi_admin)
    assert [p.where for p in exc.value.problems if "phạm vi" in p.message] == ["agency"]


def test_api_tokens_are_stored_hashed_and_resolve_to_their_user(app):
    user = db.session.scalar(db.select(User).filter_by(username="canbo.sct"))
    token = users.issue_token(user=user)
    assert users.user_for_token(token).id == user.id
    assert users.user_for_token(token + "x") is None
