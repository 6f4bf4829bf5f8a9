"""Security basics a user can rely on: login throttling, the password policy, the audit log of
every write (and its admin view), and pages that run no inline script under the CSP."""
import json

import pytest
from sqlalchemy import func, select

from app.domain.passwords import password_problems
from app.extensions import db
from app.models import AuditEntry, User
from app.services.seed import DEMO_PASSWORD


def _bad_login(client, username="canbo.sct"):
    return client.post("/login", data={"username": username, "password": "not-the-password"})


def test_failed_logins_for_one_account_are_throttled(client):
    for _ in range(5):
        assert _bad_login(client).status_code == 200  # refused, form shown again
    blocked = client.post("/login", data={"username": "canbo.sct", "password": DEMO_PASSWORD})
    assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "60"
    assert "Quá nhiều lần đăng nhập không thành công" in blocked.get_data(as_text=True)
    # another account from the same address is not locked out by someone guessing this one
    other = client.post("/login", data={"username": "pheduyet.hn", "password": DEMO_PASSWORD})
    assert other.status_code == 302


def test_successful_logins_do_not_count_towards_the_limit(client):
    for _ in range(8):
        assert client.post("/login", data={"username": "canbo.sct", "password": DEMO_PASSWORD}).status_code == 302
        client.post("/logout")
    assert _bad_login(client).status_code == 200


def test_many_accounts_guessed_from_one_address_are_throttled(app, client):
    limit = int(app.config["LOGIN_LIMIT_PER_ADDRESS"].split()[0])
    codes = [_bad_login(client, username=f"khong.co.{i}").status_code for i in range(limit + 1)]
    assert codes[:limit] == [200] * limit and codes[-1] == 429


@pytest.mark.parametrize("password, reason", [
    ("ngan", "ít nhất 10 ký tự"),
    ("1234567890", "phổ biến"),
    ("aaaaaaaaaaaa", "lặp lại"),
    ("abcdefghijklm", "dãy ký tự"),
    ("canbo.sct-2026", "tên đăng nhập"),
    ("x" * 201, "dài quá"),
])
def test_password_policy_refuses_with_the_reason(password, reason):
    problems = password_problems(password, username="canbo.sct", full_name="Nguyễn Thị Lan")
    assert any(reason in p for p in problems), problems


def test_password_policy_accepts_a_phrase_and_refuses_the_name():
    assert password_problems("trời hôm nay đẹp", username="canbo.sct") == []
    assert password_problems("NguyenThiLan", username="x.y", full_name="Nguyễn Thị Lan")


def test_change_password_names_the_field_and_then_works(client, auth):
    auth.login()
    wrong = client.post("/profile/password", data={"current": "sai", "new": "mot-cum-tu-moi", "confirm": "mot-cum-tu-moi"})
    assert wrong.status_code == 422 and "mật khẩu hiện tại không đúng" in wrong.get_data(as_text=True)
    weak = client.post("/profile/password", data={"current": DEMO_PASSWORD, "new": "1234567890", "confirm": "1234567890"})
    assert weak.status_code == 422 and "phổ biến" in weak.get_data(as_text=True)
    ok = client.post("/profile/password", data={"current": DEMO_PASSWORD, "new": "mot-cum-tu-moi", "confirm": "mot-cum-tu-moi"})
    assert ok.status_code == 302
    auth.logout()
    assert auth.login(password=DEMO_PASSWORD).status_code == 200  # the old one no longer works
    assert auth.login(password="mot-cum-tu-moi").status_code == 302
    user = db.session.scalar(select(User).where(User.username == "canbo.sct"))
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.entity == "users", AuditEntry.action == "update",
                                                       AuditEntry.entity_id == str(user.id)))
    assert json.loads(entry.changes) == {"password_hash": "(đã đổi)"}  # recorded, the hash itself never copied


def test_every_write_is_audited_with_who_when_what(client, auth):
    before = db.session.scalar(select(func.max(AuditEntry.id))) or 0
    auth.login()
    saved = client.post("/reports/BCT-BANLE/T01.SCT/2026-M12", data={"v|BL_HH_01|": "12,5"})
    assert saved.status_code in (200, 302)
    entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.id > before).order_by(AuditEntry.id)))
    assert [e.action for e in entries][0] == "login"
    writes = [e for e in entries if e.action == "insert"]
    assert {"submissions", "submission_versions"} <= {e.entity for e in writes}
    version = next(e for e in writes if e.entity == "submission_versions")
    assert version.actor == "canbo.sct" and version.method == "POST" and version.path.startswith("/reports/")
    assert version.at is not None and version.at.tzinfo is not None
    assert json.loads(version.changes)["number"] == 1


def test_failed_login_is_audited_as_a_guest(client):
    _bad_login(client, username="ke.do.tham")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "login_failed").order_by(AuditEntry.id.desc()))
    assert entry.actor == "khách" and json.loads(entry.changes) == {"username": "ke.do.tham"}


def test_admin_view_of_the_audit_log_is_filtered_and_scoped(client, auth):
    auth.login()
    client.post("/reports/BCT-BANLE/T01.SCT/2026-M12", data={"v|BL_HH_01|": "7"})
    auth.logout()
    assert auth.login("canbo.sct").status_code == 302
    assert client.get("/admin/audit").status_code == 403  # not an administrator
    auth.logout()
    auth.login("quantri")
    page = client.get("/admin/audit?who=canbo.sct&entity=submission_versions").get_data(as_text=True)
    assert "canbo.sct" in page and "submission_versions" in page and "/reports/BCT-BANLE/T01.SCT/2026-M12" in page
    assert "quantri" not in page.split('data-testid="audit-log"')[1]  # filtered to the one account


def test_a_hash_made_with_older_parameters_is_upgraded_at_login(client):
    from argon2 import PasswordHasher

    from app.services.users import _hasher

    user = db.session.scalar(select(User).where(User.username == "canbo.sct"))
    user.password_hash = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(DEMO_PASSWORD)
    db.session.commit()
    assert client.post("/login", data={"username": "canbo.sct", "password": DEMO_PASSWORD}).status_code == 302
    db.session.refresh(user)
    assert "m=19456,t=2,p=1" in user.password_hash and not _hasher.check_needs_rehash(user.password_hash)
