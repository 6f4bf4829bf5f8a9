"""The read API: JSON everywhere, errors in one shape, Decree-09 dates with +07:00."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services.users import issue_token


@pytest.fixture
def api(client, app):
    user = db.session.scalar(select(User).filter_by(username="phantich.vpcp"))
    headers = {"Authorization": f"Bearer {issue_token(user=user)}"}

    def get(url, **kw):
        return client.get(url, headers=headers, **kw)

    return get


def assert_error(response, status, code):
    assert response.status_code == status
    assert response.is_json, response.data[:200]
    body = response.get_json()["error"]
    assert body["code"] == code and body["message"]
    return body


def test_without_credentials_the_api_answers_401_json(client):
    assert_error(client.get("/api/v1/regimes"), 401, "unauthorized")
    assert_error(client.get("/api/v1/regimes", headers={"Authorization": "Bearer nope"}), 401, "unauthorized")


def test_regimes_list_with_filters(api):
    body = api("/api/v1/regimes?frequency=monthly").get_json()
    assert [r["code"] for r in body["items"]] == ["BCT-BANLE"] and body["total"] == 1
    assert body["items"][0]["version"] == 1


def test_regime_detail_has_the_decree09_elements(api):
    body = api("/api/v1/regimes/VPCP-TTHC").get_json()
    for key in ("name_vi", "content", "tiers", "sending_methods", "frequency", "cutoff_rule", "outline", "forms",
                "process_guidance", "legal_basis", "version"):
        assert body[key], key
    assert body["tiers"][0]["receiver"] == "department:VP"
    assert any(r["check"].startswith("TTHC_TYLE_DUNGHAN") for r in body["forms"][0]["rules"])


def test_period_with_cutoff_and_holiday_moved_deadline(api):
    body = api("/api/v1/regimes/BCT-BANLE/periods/2026-M02").get_json()
    assert body["key"] == "2026-M02"
    assert (body["cutoff_start"], body["cutoff_end"]) == ("2026-01-15", "2026-02-14")
    assert body["deadline"] == "2026-02-23T23:59:59+07:00"
    assert body["moved"] is True and "Tết" in body["moved_because"]
    assert [d["deadline"][:10] for d in body["deadlines"]] == ["2026-02-23", "2026-02-23"]


def test_period_alias_is_accepted(api):
    assert api("/api/v1/regimes/BCT-BANLE/periods/2026-11").get_json()["key"] == "2026-M11"


def test_periods_in_a_range(api):
    body = api("/api/v1/regimes/VPCP-TTHC/periods?from=2026-01-01&to=2026-12-31").get_json()
    assert [p["key"] for p in body["items"]] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert body["items"][3]["deadlines"][1]["deadline"] == "2026-12-21T23:59:59+07:00"  # 20/12/2026 is a Sunday


@pytest.mark.parametrize("url, status, code", [
    ("/api/v1/regimes/BCT-BANLE/periods/2026-M13", 422, "invalid"),
    ("/api/v1/regimes/BCT-BANLE/periods/2026-Q1", 422, "invalid"),
    ("/api/v1/regimes/BCT-BANLE/periods/2024-M01", 422, "invalid"),
    ("/api/v1/regimes/NOPE", 404, "not_found"),
    ("/api/v1/regimes/NOPE/periods/2026-M01", 404, "not_found"),
    ("/api/v1/regimes/VPCP-TTHC/periods?from=2026-13-01", 422, "invalid"),
    ("/api/v1/regimes/VPCP-TTHC/periods?from=2026-12-01&to=2026-01-01", 422, "invalid"),
    ("/api/v1/regimes/VPCP-TTHC/periods?from=1900-01-01&to=2100-01-01", 422, "invalid"),
    ("/api/v1/indicators?per_page=0", 422, "invalid"),
    ("/api/v1/indicators?page=abc", 422, "invalid"),
    ("/api/v1/agencies?parent=NOPE", 404, "not_found"),
    ("/api/v1/agencies?level=galaxy", 422, "invalid"),
    ("/api/v1/nothing-here", 404, "not_found"),
])
def test_bad_requests_get_json_errors_naming_the_thing(api, url, status, code):
    body = assert_error(api(url), status, code)
    if "NOPE" in url:
        assert "NOPE" in body["message"]


def test_period_outside_validity_says_so(api):
    body = assert_error(api("/api/v1/regimes/BCT-BANLE/periods/2024-M01"), 422, "invalid")
    assert "hiệu lực" in body["message"]


def test_method_not_allowed_is_json_with_allow_header(client):
    response = client.post("/api/v1/regimes")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_indicators_and_agencies(api):
    ratio = api("/api/v1/indicators/TTHC_TYLE_DUNGHAN").get_json()
    assert ratio["aggregation"] == "ratio" and ratio["numerator"] == ["TTHC_DAGQ_TRUOCHAN", "TTHC_DAGQ_DUNGHAN"]
    provinces = api("/api/v1/agencies?level=province&per_page=100").get_json()
    assert provinces["total"] == 34
    old = api("/api/v1/agencies?level=province&on=2025-06-30&per_page=100").get_json()
    assert old["total"] == 63
    communes = api("/api/v1/agencies?parent=T01&level=commune").get_json()
    assert communes["total"] == 126


def test_openapi_description_lists_the_endpoints(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    for path in ("/api/v1/regimes", "/api/v1/regimes/{code}", "/api/v1/regimes/{code}/periods",
                 "/api/v1/regimes/{code}/periods/{key}", "/api/v1/indicators", "/api/v1/agencies"):
        assert path in paths, path


@pytest.mark.parametrize("value", ["2.589e-42", "1.5", "-1", "0x10", " "])
def test_paging_accepts_only_plain_whole_numbers(api, value):
    assert_error(api(f"/api/v1/indicators?page={value}"), 422, "invalid")
