"""Operations and security basics: health endpoint, security headers, session cookie flags,
two approvers at once, and the parsers under property-based tests."""
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app import create_app
from app.domain.periods import Frequency, Period
from app.domain.rules import parse_rule
from app.extensions import db
from app.models import User
from app.services import decisions as decisions_svc
from app.services import sending as sending_svc
from app.services import submissions as svc
from app.services.errors import Invalid
from tests.helpers import retail_values


def test_health_endpoint_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok", "database": "ok"}


def test_an_unreachable_database_makes_health_503(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none", "TESTING": True,
                      "SECRET_KEY": "x" * 20, "INSTANCE_DIR": str(tmp_path)})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["database"] == "unreachable"


def test_security_headers_and_cookie_flags(client):
    response = client.get("/login")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert response.headers["X-Frame-Options"] == "DENY"
    from app.services.seed import DEMO_PASSWORD

    logged = client.post("/login", data={"username": "canbo.sct", "password": DEMO_PASSWORD})
    cookie = logged.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure(monkeypatch, tmp_path):
    from app.config import load_config

    config = load_config({"BAOCAO_ENV": "production", "SECRET_KEY": "a-long-production-secret-key", "BAOCAO_INSTANCE": str(tmp_path)})
    assert config["SESSION_COOKIE_SECURE"] is True and config["SESSION_COOKIE_HTTPONLY"] is True


def test_two_approvers_at_once_exactly_one_wins(app):
    reporter = db.session.scalar(select(User).where(User.username == "canbo.sct"))
    approver = db.session.scalar(select(User).where(User.username == "pheduyet.hn"))
    report = svc.open_report(user=reporter, regime_code="BCT-BANLE", agency_code="T01.SCT", period_key="2026-M12", for_write=True)
    sub = svc.save(user=reporter, report=report, raw={(k, ""): (str(v), False, "") for k, v in retail_values().items()},
                   outline={}, revision=None).submission
    sending_svc.submit(user=reporter, submission_id=sub.id)
    seen = sub.revision  # both approvers opened the page at this revision
    decisions_svc.approve(user=approver, submission_id=sub.id, revision=seen)
    with pytest.raises(Exception) as second:
        decisions_svc.return_(user=approver, submission_id=sub.id, reason="Sai", revision=seen)
    assert "tải lại" in str(second.value) or "đang chờ duyệt" in str(second.value)
    with pytest.raises(Invalid, match="đang chờ duyệt"):
        decisions_svc.return_(user=approver, submission_id=sub.id, reason="Sai")  # even without a revision: it is no longer pending
    assert sub.status == "approved"


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([Frequency.MONTHLY, Frequency.QUARTERLY, Frequency.SEMIANNUAL, Frequency.ANNUAL, Frequency.WEEKLY]),
       st.integers(min_value=2000, max_value=2099), st.integers(min_value=1, max_value=53))
def test_period_keys_round_trip(frequency, year, index):
    limit = {Frequency.MONTHLY: 12, Frequency.QUARTERLY: 4, Frequency.SEMIANNUAL: 2, Frequency.ANNUAL: 1, Frequency.WEEKLY: 52}[frequency]
    period = Period(frequency, year, (index - 1) % limit + 1)
    again = Period.parse(period.key)
    assert again == period and again.next().previous() == period
    start, end = period.cutoff()
    assert start <= end and (end - start).days < 370


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_the_period_parser_never_crashes(text):
    try:
        Period.parse(text)
    except ValueError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["A", "B", "C"]), st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), max_size=3))
def test_rules_decide_or_say_unknown(values):
    for text in ("A = B + C", "A <= B", "A = (B + C) / C * 100", "A >= sum(B, C)"):
        verdict = parse_rule(text).holds(values)
        needed = parse_rule(text).codes
        if not needed <= set(values):
            assert verdict is None
        else:
            assert verdict in (True, False, None)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_the_rule_parser_refuses_garbage_cleanly(text):
    try:
        parse_rule(text)
    except ValueError:
        pass


def test_dates_are_iso_in_period_cutoffs():
    assert Period.parse("2026-M03").cutoff() == (date(2026, 2, 15), date(2026, 3, 14))


def test_nul_characters_are_refused_before_they_reach_the_database(client):
    response = client.get("/api/v1/regimes?q=a%00b")
    assert response.status_code == 400 and response.is_json
    assert client.post("/login", data={"username": "a\x00", "password": "x"}).status_code == 400


def test_json_logs_carry_the_request_id_user_and_timing(tmp_path, capsys):
    import json
    import logging

    from app.config import load_config
    from tests.conftest import _test_config

    config = load_config({"BAOCAO_ENV": "production", "SECRET_KEY": "a-long-production-secret-key", "BAOCAO_INSTANCE": str(tmp_path)})
    assert config["LOG_FORMAT"] == "json" and config["ACCESS_LOG"] is True
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        app = create_app({**_test_config(f"sqlite:///{tmp_path / 'x.sqlite'}", tmp_path), "LOG_FORMAT": "json", "ACCESS_LOG": True})
        response = app.test_client().get("/login", headers={"X-Request-ID": "lb-42"})
        assert response.headers["X-Request-ID"] == "lb-42"
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
        access = next(r for r in lines if r["logger"] == "baocao.access")
        assert access["request_id"] == "lb-42" and access["path"] == "/login" and access["status"] == 200
        assert access["duration_ms"] >= 0 and access["level"] == "INFO" and access["time"].endswith("+00:00")
    finally:
        root.handlers, _ = saved
        root.setLevel(saved[1])


def test_a_bad_log_setting_is_refused_with_its_name(tmp_path):
    from app.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="BAOCAO_LOG_FORMAT"):
        load_config({"BAOCAO_LOG_FORMAT": "xml", "BAOCAO_INSTANCE": str(tmp_path)})
