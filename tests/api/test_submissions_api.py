"""The submissions API: machine-to-machine drafts (JSON and Excel), the workflow, seals; errors
are JSON with a code and every problem; scope is the token owner's."""
import io

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services.users import issue_token
from tests.helpers import fill_template, retail_values

BASE = {"regime": "BCT-BANLE", "agency": "T01.SCT", "period": "2026-M12"}


def headers_for(username: str) -> dict:
    user = db.session.scalar(select(User).filter_by(username=username))
    return {"Authorization": f"Bearer {issue_token(user=user)}"}


@pytest.fixture
def reporter(app):
    return headers_for("canbo.sct")


@pytest.fixture
def approver(app):
    return headers_for("pheduyet.hn")


def values(extra=None):
    return [{"indicator": code, "value": v} for code, v in retail_values(extra).items()]


def create(client, headers, **kw):
    return client.post("/api/v1/submissions", json={**BASE, "values": values(), "outline": {"I": "Ổn định"}, **kw}, headers=headers)


def test_create_submit_return_resubmit_approve_verify(client, reporter, approver):
    made = create(client, reporter)
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    sid = body["id"]
    assert body["status"] == "draft" and body["versions"][0]["source"] == "api"
    assert body["deadline"] == "2026-12-17T23:59:59+07:00"
    assert {v["indicator"]: v["value"] for v in body["values"]}["BL_HH"] == "1278"  # computed, exact decimal string
    submitted = client.post(f"/api/v1/submissions/{sid}/submit", json={}, headers=reporter)
    assert submitted.status_code == 200 and submitted.get_json()["status"] == "submitted"
    assert len(submitted.get_json()["versions"][0]["seal_hash"]) == 64
    verify = client.get(f"/api/v1/submissions/{sid}/verify", headers=approver).get_json()
    assert verify["valid"] and verify["hash_matches"] and verify["signature_valid"] and verify["version"] == 1
    returned = client.post(f"/api/v1/submissions/{sid}/return", json={"reason": "Sai dòng 3"}, headers=approver)
    assert returned.status_code == 200, returned.get_json()
    assert returned.get_json()["status"] == "returned"
    again = create(client, reporter, values=values({"BL_HH_03": 99}))
    assert again.status_code == 201 and [v["number"] for v in again.get_json()["versions"]] == [1, 2]
    client.post(f"/api/v1/submissions/{sid}/submit", json={}, headers=reporter)
    approved = client.post(f"/api/v1/submissions/{sid}/approve", json={}, headers=approver)
    assert approved.get_json()["status"] == "approved" and approved.get_json()["approved_version"] == 2
    listed = client.get("/api/v1/submissions?status=approved&regime=BCT-BANLE", headers=approver).get_json()
    assert [s["id"] for s in listed["items"]] == [sid]


def test_every_problem_is_listed_and_nothing_stored(client, reporter):
    bad = values({"BL_HH_01": "abc", "BL_HH_02": -1, "BL_HH_04": True}) + [{"indicator": "NOPE", "value": 1}]
    response = create(client, reporter, values=bad)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    found = {(d["indicator"], d["code"]) for d in error["details"]}
    assert found >= {("BL_HH_01", "not_a_number"), ("BL_HH_02", "below_min"), ("NOPE", "unknown_cell"),
                     ("BL_HH_04", "not_a_number")}
    assert client.get("/api/v1/submissions", headers=reporter).get_json()["total"] == 0


def test_schema_errors_and_duplicates(client, reporter):
    response = client.post("/api/v1/submissions", json={"regime": "BCT-BANLE"}, headers=reporter)
    assert response.status_code == 422 and {d["field"] for d in response.get_json()["error"]["details"]} >= {"agency", "period"}
    dup = create(client, reporter, values=[{"indicator": "BL_HH_01", "value": 1}, {"indicator": "BL_HH_01", "value": 2}])
    assert dup.status_code == 422 and dup.get_json()["error"]["details"][0]["code"] == "duplicate"
    not_json = client.post("/api/v1/submissions", data="{", headers={**reporter, "Content-Type": "application/json"})
    assert not_json.status_code in (400, 422) and not_json.is_json


def test_a_stale_revision_is_a_409(client, reporter):
    first = create(client, reporter).get_json()
    create(client, reporter, revision=first["revision"])
    stale = create(client, reporter, revision=first["revision"])
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "conflict"


def test_scope_is_the_token_owners(client, reporter):
    other = headers_for("thietke.bct")
    assert create(client, other).status_code == 403
    made = create(client, reporter)
    assert made.status_code == 201, made.get_json()
    sid = made.get_json()["id"]
    assert client.get(f"/api/v1/submissions/{sid}", headers=other).status_code == 403
    assert client.post(f"/api/v1/submissions/{sid}/approve", json={}, headers=reporter).status_code == 403
    assert client.get("/api/v1/submissions/999999", headers=reporter).status_code == 404


def test_template_download_and_upload(client, reporter):
    template = client.get("/api/v1/regimes/BCT-BANLE/template.xlsx?agency=T01.SCT&period=2026-M12", headers=reporter)
    assert template.status_code == 200 and template.mimetype.endswith("spreadsheetml.sheet")
    missing = client.get("/api/v1/regimes/BCT-BANLE/template.xlsx", headers=reporter)
    assert missing.status_code == 422 and missing.is_json
    filled = fill_template(template.data, retail_values())
    up = client.post("/api/v1/submissions/upload", data={**BASE, "file": (io.BytesIO(filled), "a.xlsx")},
                     headers=reporter, content_type="multipart/form-data")
    assert up.status_code == 201 and up.get_json()["versions"][-1]["source"] == "excel"
    bad = fill_template(template.data, retail_values({"BL_LT_01": "x"}))
    refused = client.post("/api/v1/submissions/upload", data={**BASE, "file": (io.BytesIO(bad), "b.xlsx")},
                          headers=reporter, content_type="multipart/form-data")
    assert refused.status_code == 422
    assert refused.get_json()["error"]["details"][0]["where"] == "Biểu 01!E31"


def test_cookie_sessions_need_a_csrf_token_to_write(app, client, auth):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        auth_response = client.get("/login")
        assert auth_response.status_code == 200
        response = client.post("/api/v1/submissions", json={**BASE, "values": []})
        assert response.status_code in (400, 401)  # no session → 401; a session without token → 400 (CSRF)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_openapi_describes_the_submission_endpoints(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/submissions", "/api/v1/submissions/upload", "/api/v1/submissions/{sid}/verify",
                 "/api/v1/submissions/{sid}/return", "/api/v1/regimes/{code}/template.xlsx"):
        assert path in spec["paths"], path


def test_an_id_beyond_any_database_integer_is_not_found(client, reporter):
    response = client.get(f"/api/v1/submissions/{2**70}/verify", headers=reporter)
    assert response.status_code == 404 and response.is_json


def test_schemathesis_no_server_error_and_responses_match_the_schema(app, reporter):
    """Property-based calls generated from /api/v1/openapi.json — every operation, reads and writes
    (JSON bodies, multipart uploads, imports) — never get a 5xx, and every response matches what
    the description promises: status code documented, content type, body schema."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.core.failures import FailureGroup
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures, calls, methods = [], 0, set()

    def check(operation):
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
        @given(operation.as_strategy())
        def call(case):
            nonlocal calls
            calls += 1
            response = case.call(headers=reporter)
            where = (operation.method.upper(), operation.path, case.path_parameters, case.query)
            if response.status_code >= 500:
                failures.append((*where, response.status_code))
                return
            try:
                case.validate_response(response, checks=[status_code_conformance, content_type_conformance,
                                                         response_schema_conformance])
            except (AssertionError, FailureGroup) as exc:
                failures.append((*where, response.status_code, str(exc)[:300]))

        call()

    for result in schema.get_all_operations():
        operation = result.ok()
        methods.add(operation.method.upper())
        check(operation)
    assert methods == {"GET", "POST", "DELETE"} and calls > 200
    assert failures == [], failures[:5]
