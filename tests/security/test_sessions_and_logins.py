"""Review findings 11 and 12: a sign-in ends when its user logs out or changes the password (a
replayed cookie no longer works), "log out everywhere"; failed logins are counted per parsed
account whatever the body's content type, in the database, so every worker sees the same count."""
from __future__ import annotations

import pytest
import requests

from app import create_app
from app.extensions import db
from app.services.seed import DEMO_PASSWORD
from tests.conftest import _test_config, prepare_database
from tests.helpers import own_database

NEW_PASSWORD = "mot-cum-tu-moi-de-nho-2026"


def _cookie(client) -> str:
    return client.get_cookie("session").value


def _replay(app, cookie: str):
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def test_a_cookie_replayed_after_logout_is_refused(app, client, auth):
    auth.login()
    cookie = _cookie(client)
    assert client.get("/profile").status_code == 200
    auth.logout()
    thief = _replay(app, cookie)
    resp = thief.get("/profile")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert thief.post("/profile/tokens", data={"name": "lấy trộm"}).status_code == 302  # no token made
    from sqlalchemy import func, select

    from app.models import ApiToken

    assert db.session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.name == "lấy trộm")) == 0


def test_a_password_change_ends_every_other_sign_in(app, client, auth):
    other = app.test_client()
    other.post("/login", data={"username": "canbo.sct", "password": DEMO_PASSWORD})
    assert other.get("/profile").status_code == 200
    auth.login()
    changed = client.post("/profile/password", data={"current": DEMO_PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert changed.status_code == 302
    assert client.get("/profile").status_code == 200  # this browser goes on
    assert other.get("/profile").status_code == 302  # the other sign-in ended


def test_log_out_everywhere(app, client, auth):
    other = app.test_client()
    other.post("/login", data={"username": "canbo.sct", "password": DEMO_PASSWORD})
    auth.login()
    assert "Đăng xuất khỏi mọi nơi" in client.get("/profile").get_data(as_text=True)
    client.post("/profile/logout-everywhere")
    assert client.get("/profile").status_code == 302 and other.get("/profile").status_code == 302


def test_json_logins_count_against_the_account(client):
    for _ in range(5):
        resp = client.post("/login", json={"username": "canbo.sct", "password": "sai-mat-khau"})
        assert resp.status_code == 200
    blocked = client.post("/login", data={"username": "canbo.sct", "password": DEMO_PASSWORD})
    assert blocked.status_code == 429
    # another account is not affected by someone guessing this one
    assert client.post("/login", json={"username": "pheduyet.hn", "password": DEMO_PASSWORD}).status_code == 302


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    from tests.integration.test_faults import Server

    tmp = tmp_path_factory.mktemp("logins")
    url = own_database(tmp, "baocao_logins")
    app = create_app(_test_config(url, tmp))
    prepare_database(app)
    with app.app_context():
        db.engine.dispose()
    server = Server(url, tmp, workers=2)
    yield server
    server.kill()


def test_two_gunicorn_workers_share_one_count(two_workers):
    from tests.integration.test_faults import csrf

    base = two_workers.base
    codes = []
    for _ in range(8):  # fresh connections: requests land on both workers
        s = requests.Session()
        page = s.get(base + "/login")
        resp = s.post(base + "/login", data={"csrf_token": csrf(page.text), "username": "canbo.sct", "password": "sai"},
                      headers={"Connection": "close"}, allow_redirects=False)
        codes.append(resp.status_code)
    assert codes[:5] == [200] * 5 and set(codes[5:]) == {429}, codes
