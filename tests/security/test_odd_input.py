"""Review finding 13: odd input gets a clear 4xx, never a 500, and answers stay small."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services import users as user_svc


def _token(name: str) -> dict:
    user = db.session.scalar(select(User).where(User.username == name))
    return {"Authorization": "Bearer " + user_svc.issue_token(user=user)}


def test_a_dhis2_csv_that_is_not_utf8_is_refused_clearly(app, client):
    body = "dataelement,period,orgunit,value\nBL_HH_01,202612,T01.SCT,5 ông\n".encode("cp1258", "replace") + b"\xe9\xff"
    resp = client.post("/api/v1/imports/dhis2?regime=BCT-BANLE", data=body,
                       headers={"Content-Type": "text/csv", **_token("phantich.vpcp")})
    assert resp.status_code == 422 and "UTF-8" in resp.get_data(as_text=True)


@pytest.mark.parametrize("period", ["2026Wxx", "2026W", "2026Qx"])
def test_a_dhis2_week_period_that_is_not_a_number_is_refused(app, client, period):
    body = {"dataValues": [{"dataElement": "BL_HH_01", "period": period, "orgUnit": "T01.SCT", "value": "1"}]}
    resp = client.post("/api/v1/imports/dhis2?regime=BCT-BANLE", json=body, headers=_token("phantich.vpcp"))
    assert 400 <= resp.status_code < 500


@pytest.mark.parametrize("url", ["/reports/BCT-BANLE/T01.SCT/2026Wxx", "/reports/BCT-BANLE/T01.SCT/YC99999999999999999999",
                                 "/reports/BCT-BANLE/T01.SCT/YC-1", "/reports/BCT-BANLE/T01.SCT/YC"])
def test_odd_period_keys_in_urls(app, client, auth, url):
    auth.login()
    assert client.get(url).status_code in (404, 422)


def test_deeply_nested_json_is_a_400(app, client):
    nested = "[" * 100_000 + "]" * 100_000
    for body in (nested, '{"values": ' + nested + "}"):
        resp = client.post("/api/v1/submissions", data=body, headers={"Content-Type": "application/json", **_token("canbo.sct")})
        assert resp.status_code == 400 and resp.is_json


def test_a_huge_bad_post_gets_a_small_answer(app, client):
    values = [{"indicator": f"X{i}", "value": "abc" * 10} for i in range(100_000)]
    body = json.dumps({"regime": "BCT-BANLE", "agency": "T01.SCT", "period": "2026-M12", "values": values})
    assert len(body) > 6_000_000
    resp = client.post("/api/v1/submissions", data=body, headers={"Content-Type": "application/json", **_token("canbo.sct")})
    assert resp.status_code == 422 and len(resp.data) < 100_000
    assert "100" in resp.get_json()["error"]["message"]  # says it lists the first 100 problems


def test_a_dollar_sign_in_an_indicator_name_does_not_break_charts(app):
    from app.adapters import charts

    svg = charts.trend_svg(["Tháng 1", "Tháng 2"], [1, 2], r"Doanh thu $\frac{a}{$ (triệu $)", "triệu $")
    assert r"$\frac{a}{$" in (svg if isinstance(svg, str) else svg.decode())
