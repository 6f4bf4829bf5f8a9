"""The access matrix: every route of the web UI and the API, asked by every role, for data of their
own agency, of another agency and of a parent agency. The expected answer is written down here,
route by route; a route added without a line here fails `test_every_route_is_in_the_matrix`.

The target is one submitted report of Sở Công Thương Hà Nội (T01.SCT) under BCT-BANLE (a Bộ Công
Thương regime). Principals and how they relate to it:

  anon            not logged in
  reporter        reporter of T01.SCT                        (own agency)
  reporter_other  reporter of T79.SCT (Hồ Chí Minh)          (another agency)
  approver        approver of T01 (Hà Nội)                   (the parent agency)
  approver_other  approver of T79                            (another province)
  designer        designer of BCT (issued the regime)
  designer_other  designer of BYT                            (another ministry)
  analyst         analyst of VPCP (national reporting center)
  analyst_other   analyst of T79                             (another province's center)
  admin           administrator of CP (the top agency)

"allow" means the request passed the access check: 2xx, a redirect that is not to the login page,
or 400/409/422 (valid access, unacceptable content). "deny" means 401, 403, 404 or a redirect to
the login page. A denied write must leave no trace: the audit log (which records every write) does
not grow.
"""
from __future__ import annotations

from io import BytesIO

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from app.extensions import db
from app.models import Agency, AuditEntry, Submission, User
from app.services import decisions as decisions_svc
from app.services import sending as sending_svc
from app.services import submissions as svc
from app.services import users as user_svc
from tests.helpers import fill_template, retail_values

PRINCIPALS = ["anon", "reporter", "reporter_other", "approver", "approver_other", "designer", "designer_other",
              "analyst", "analyst_other", "admin"]
EXTRA = {  # principal -> (username, role, agency); the others are demo accounts
    "reporter_other": ("canbo.sct.hcm", "reporter", "T79.SCT"),
    "approver_other": ("pheduyet.hcm", "approver", "T79"),
    "designer_other": ("thietke.byt", "designer", "BYT"),
    "analyst_other": ("phantich.hcm", "analyst", "T79"),
}
DEMO = {"reporter": "canbo.sct", "approver": "pheduyet.hn", "designer": "thietke.bct", "analyst": "phantich.vpcp",
        "admin": "quantri"}
PASSWORD_HASH = PasswordHasher().hash("mot-cum-tu-de-nho")  # hashed once for the whole module

ALL = set(PRINCIPALS)
LOGGED_IN = ALL - {"anon"}
CENTER_T01 = {"approver", "designer", "designer_other", "analyst", "admin"}  # may look at Hà Nội's figures
CENTER_ANY = CENTER_T01 | {"approver_other", "analyst_other"}  # may open the reporting center at all
DESIGNERS = {"designer", "designer_other"}
NATIONAL = {"analyst", "admin"}  # the national reporting center and the top administrator read every report
READ_T01 = {"reporter", "approver"} | NATIONAL  # who may read T01.SCT's report
APPROVERS = {"approver", "approver_other"}
QUALITY = CENTER_ANY - DESIGNERS  # data quality and follow-ups: analysts, approvers, administrators, each in their scope

P = "BCT-BANLE", "T01.SCT", "2026-M12"
REPORT = "/reports/BCT-BANLE/T01.SCT/2026-M12"
Q = "regime=BCT-BANLE&period=2026-M12"

# (method, url template, who is allowed). {sid} = the target submission, {token} = a token of the reporter.
MATRIX: dict[str, list[tuple[str, str, set[str]]]] = {
    "healthz": [("GET", "/healthz", ALL)],
    "static": [("GET", "/static/baocao.css", ALL)],
    "bootstrap.static": [("GET", "/bootstrap/static/css/bootstrap.min.css", ALL)],
    "web.login": [("GET", "/login", ALL), ("POST", "/login", ALL)],
    "web.set_language": [("GET", "/lang/en", ALL)],
    "web.logout": [("POST", "/logout", LOGGED_IN)],
    "web.home": [("GET", "/", LOGGED_IN)],
    "web.profile": [("GET", "/profile", LOGGED_IN)],
    "web.profile_password": [("POST", "/profile/password", LOGGED_IN)],
    "web.profile_logout_everywhere": [("POST", "/profile/logout-everywhere", LOGGED_IN)],
    "web.profile_token": [("POST", "/profile/tokens", LOGGED_IN)],
    "web.profile_token_revoke": [("POST", "/profile/tokens/{token}/revoke", {"reporter"})],  # only one's own token
    "web.notifications": [("GET", "/notifications", LOGGED_IN)],
    "web.notifications_read": [("POST", "/notifications/read", LOGGED_IN)],
    "web.profile_notices": [("POST", "/profile/notices", LOGGED_IN)],
    "web.agencies": [("GET", "/agencies", LOGGED_IN)],
    "web.agency": [("GET", "/agencies/T01.SCT", LOGGED_IN)],
    "web.agencies_pick": [("GET", "/agencies/pick?q=ba%20vi", LOGGED_IN)],
    "web.help": [("GET", "/help", LOGGED_IN)],
    "web.help_topic": [("GET", "/help/glossary", LOGGED_IN)],
    "web.regimes": [("GET", "/regimes", LOGGED_IN)],
    "web.regime": [("GET", "/regimes/BCT-BANLE", LOGGED_IN)],
    "web.indicators": [("GET", "/indicators", LOGGED_IN)],
    "web.indicator": [("GET", "/indicators/BL_HH", LOGGED_IN)],
    # reports: the own agency writes; the parent agency's approver reads
    "web.my_reports": [("GET", "/reports", LOGGED_IN)],
    "web.report_form": [("GET", REPORT, READ_T01),
                        ("POST", REPORT, {"reporter"}),
                        ("GET", "/reports/BCT-BANLE/T79.SCT/2026-M12", {"reporter_other", "approver_other", "analyst_other"} | NATIONAL)],
    "web.report_template": [("GET", REPORT + "/template.xlsx", READ_T01)],
    "web.report_upload": [("POST", REPORT + "/upload", {"reporter"})],
    # a large workbook's reading: its page is the uploader's (here a refused one: 422, its problems)
    "web.upload_job": [("GET", "/uploads/{upload_job}", {"reporter"})],
    "web.designer_import_job": [("GET", "/designer/imports/{zip_job}", {"designer"})],  # the designer who sent it
    # the target is a first-tier report: compiling it is refused (422) to its writer, forbidden to the rest
    "web.report_compile": [("POST", REPORT + "/compile", {"reporter"})],
    "web.report_sources": [("GET", REPORT + "/sources?cell=BL_HH_01|", READ_T01)],
    "web.submission": [("GET", "/submissions/{sid}", READ_T01)],
    "web.pki_verify": [("GET", "/pki/verify", LOGGED_IN), ("POST", "/pki/verify", LOGGED_IN)],
    "web.pki_signatures": [("GET", "/pki/signatures", LOGGED_IN)],  # each sees the reports they may read
    "web.submission_signed_pdf": [("GET", "/submissions/{sid}/versions/1/signed.pdf", set())],  # not signed here: 404 for all
    "web.submission_submit": [("POST", "/submissions/{sid}/submit", {"reporter"})],
    "web.submission_approve": [("POST", "/submissions/{sid}/approve", {"approver"})],
    "web.submission_return": [("POST", "/submissions/{sid}/return", {"approver"})],
    "web.submission_reopen": [("POST", "/submissions/{sid}/reopen", {"approver"})],
    "web.inbox": [("GET", "/inbox", APPROVERS)],
    "web.requests_list": [("GET", "/requests", LOGGED_IN)],
    "web.request_new": [("GET", "/requests/new", DESIGNERS | APPROVERS), ("POST", "/requests/new", DESIGNERS | APPROVERS)],
    # reporting center: province staff see their province only
    "web.center": [("GET", "/center", CENTER_ANY)],
    "web.center_view": [("GET", "/center/BCT-BANLE/2026-M12?unit=T01", CENTER_T01)],
    "web.center_tiers": [("GET", "/center/BCT-BANLE/2026-M12/tiers", CENTER_ANY)],  # each in their own scope
    "web.center_completeness_xlsx": [("GET", "/center/BCT-BANLE/2026-M12/completeness.xlsx?unit=T01", CENTER_T01)],
    "web.center_completeness": [("GET", "/center/BCT-BANLE/2026-M12/completeness?unit=T01", CENTER_T01)],
    "web.center_trend_svg": [("GET", "/center/BCT-BANLE/trend.svg?unit=T01&indicator=BL_TONG", CENTER_T01)],
    "web.center_map_svg": [("GET", "/center/BCT-BANLE/2026-M12/map.svg?indicator=BL_TONG", NATIONAL | {"designer", "designer_other"})],
    "web.center_bars_svg": [("GET", "/center/BCT-BANLE/2026-M12/bars.svg?unit=T01&indicator=BL_TONG", CENTER_T01)],
    "web.center_export": [("GET", "/center/BCT-BANLE/2026-M12/export.csv?unit=T01", CENTER_T01)],
    "web.center_quality": [("GET", "/center/BCT-BANLE/2026-M12/quality", QUALITY)],
    # following up Sở Công Thương Hà Nội's figure: the nation's analyst, the administrator, Hà Nội's approver
    "web.center_quality_follow": [("POST", "/center/BCT-BANLE/2026-M12/quality/follow?agency=T01.SCT&indicator=BL_TONG",
                                   {"approver", "analyst", "admin"})],
    "web.center_follow_ups": [("GET", "/center/follow-ups", QUALITY)],
    "web.center_follow_up": [("GET", "/center/follow-ups/999999", set()), ("POST", "/center/follow-ups/999999", set())],
    "web.center_kpis": [("GET", "/center/kpis", CENTER_ANY), ("POST", "/center/kpis", CENTER_ANY)],
    "web.center_kpi_remove": [("POST", "/center/kpis/999999/remove", set())],  # one's own picks only: none here
    "web.center_multiples": [("GET", "/center/BCT-BANLE/2026-M12/multiples?indicator=BL_TONG", CENTER_ANY)],
    "web.center_job": [("GET", "/center/jobs/0123456789abcdef", set())],  # jobs belong to whoever started them
    "web.center_job_file": [("GET", "/center/jobs/0123456789abcdef.pdf", set())],
    # designer: designers; a regime only by its issuing ministry's designer
    "web.designer": [("GET", "/designer", DESIGNERS)],
    "web.designer_new": [("POST", "/designer/new", DESIGNERS)],
    "web.designer_import": [("POST", "/designer/import", DESIGNERS)],
    "web.designer_edit": [("GET", "/designer/BCT-BANLE", {"designer"}), ("POST", "/designer/BCT-BANLE", {"designer"})],
    "web.designer_form": [("GET", "/designer/BCT-BANLE/forms/BIEU01", {"designer"}),
                          ("POST", "/designer/BCT-BANLE/forms/BIEU01", {"designer"})],
    "web.designer_preview": [("GET", "/designer/BCT-BANLE/preview", {"designer"})],
    "web.designer_import_form": [("GET", "/designer/BCT-BANLE/import-form", {"designer"}),
                                 ("POST", "/designer/BCT-BANLE/import-form", {"designer"})],  # no file: 422 for the designer
    # reading another ministry's versions or exporting them (to start from) is allowed; changing is not
    "web.designer_versions": [("GET", "/designer/BCT-BANLE/versions", DESIGNERS)],
    "web.designer_export": [("GET", "/designer/BCT-BANLE/export.zip", DESIGNERS)],
    # administration
    "web.admin_users": [("GET", "/admin/users", {"admin"}), ("POST", "/admin/users", {"admin"})],
    "web.admin_user_active": [("POST", "/admin/users/{reporter_id}/active/0", {"admin"})],
    "web.admin_certificates": [("GET", "/admin/certificates", {"admin"}), ("POST", "/admin/certificates", {"admin"})],
    "web.admin_certificate_retire": [("POST", "/admin/certificates/{cert}/retire", {"admin"})],
    "web.admin_reminders": [("GET", "/admin/reminders", {"admin"}), ("POST", "/admin/reminders", {"admin"})],
    "web.admin_audit": [("GET", "/admin/audit", {"admin"})],
    "web.admin_jobs": [("GET", "/admin/jobs", {"admin"}), ("POST", "/admin/jobs", {"admin"})],
    "web.admin_mail": [("GET", "/admin/mail", set())],  # only the demo has a mailbox (MAIL_SINK_DIR): 404 here for all
    # API
    "api-docs.openapi_json": [("GET", "/api/v1/openapi.json", ALL)],
    "agencies.list_agencies": [("GET", "/api/v1/agencies", LOGGED_IN)],
    "agencies.get_agency": [("GET", "/api/v1/agencies/T01.SCT", LOGGED_IN)],
    "indicators.list_indicators": [("GET", "/api/v1/indicators", LOGGED_IN)],
    "indicators.get_indicator": [("GET", "/api/v1/indicators/BL_HH", LOGGED_IN)],
    "regimes.list_regimes": [("GET", "/api/v1/regimes", LOGGED_IN)],
    "regimes.get_regime": [("GET", "/api/v1/regimes/BCT-BANLE", LOGGED_IN)],
    "regimes.list_periods": [("GET", "/api/v1/regimes/BCT-BANLE/periods", LOGGED_IN)],
    "regimes.get_period": [("GET", "/api/v1/regimes/BCT-BANLE/periods/2026-M12", LOGGED_IN)],
    "regimes.template": [("GET", "/api/v1/regimes/BCT-BANLE/template.xlsx?agency=T01.SCT&period=2026-M12",
                          READ_T01)],
    "submissions.list_": [("GET", "/api/v1/submissions", LOGGED_IN)],  # scoped: see test_lists_show_only_what_is_yours
    "submissions.create": [("POST", "/api/v1/submissions", {"reporter"})],
    "submissions.upload": [("POST", "/api/v1/submissions/upload", {"reporter"})],
    "submissions.get": [("GET", "/api/v1/submissions/{sid}", READ_T01)],
    "compilations.compile_": [("POST", "/api/v1/compilations", {"reporter"})],
    "compilations.get": [("GET", "/api/v1/compilations/{sid}", set())],  # not a compiled report: 404 for all
    "signatures.get": [("GET", "/api/v1/signatures/{sid}/versions/1", set())],  # not signed here: 404 for all
    "signatures.pdf": [("GET", "/api/v1/signatures/{sid}/versions/1/signed.pdf", set())],
    # external signing: the reporting agency's writer gets past access (422: no certificate in the body)
    "signatures.external_prepare": [("POST", "/api/v1/signatures/{sid}/versions/1/external/prepare", {"reporter"})],
    "signatures.external_complete": [("POST", "/api/v1/signatures/{sid}/versions/1/external/complete", set())],  # no request: 404
    "submissions.verify": [("GET", "/api/v1/submissions/{sid}/verify", READ_T01)],
    "submissions.submit": [("POST", "/api/v1/submissions/{sid}/submit", {"reporter"})],
    "submissions.approve": [("POST", "/api/v1/submissions/{sid}/approve", {"approver"})],
    "submissions.return_": [("POST", "/api/v1/submissions/{sid}/return", {"approver"})],
    "submissions.reopen": [("POST", "/api/v1/submissions/{sid}/reopen", {"approver"})],
    "aggregates.aggregates": [("GET", f"/api/v1/aggregates?{Q}&agency=T01", CENTER_T01)],
    "aggregates.map_features": [("GET", "/api/v1/maps?regime=BCT-BANLE&period=2026-M12", NATIONAL | {"designer", "designer_other"})],
    "aggregates.completeness": [("GET", f"/api/v1/completeness?{Q}&agency=T01", CENTER_T01)],
    "aggregates.export": [("GET", f"/api/v1/exports/csv?{Q}&agency=T01", CENTER_T01)],
    # bulk exports: reporting-center roles, each limited to their province (test_exports_hold_only_what_is_in_scope)
    "aggregates.sdmx_structure": [("GET", "/api/v1/exports/sdmx/structure?regime=BCT-BANLE", CENTER_ANY)],
    "aggregates.sdmx_data": [("GET", "/api/v1/exports/sdmx/data?regime=BCT-BANLE&start=2026-M12", CENTER_ANY)],
    "aggregates.dhis2": [("GET", "/api/v1/exports/dhis2?regime=BCT-BANLE&start=2026-M12", CENTER_ANY)],
    "quality.quality": [("GET", f"/api/v1/quality?{Q}", QUALITY)],
    "quality.follow_ups": [("GET", "/api/v1/follow-ups", QUALITY)],
    "quality.follow": [("POST", "/api/v1/follow-ups", {"approver", "analyst", "admin"})],
    "quality.act": [("POST", "/api/v1/follow-ups/999999/actions", set())],
    "quality.kpis": [("GET", "/api/v1/kpis", CENTER_ANY)],
    "quality.kpi_add": [("POST", "/api/v1/kpis", CENTER_ANY)],
    "quality.kpi_remove": [("DELETE", "/api/v1/kpis/999999", set())],
    "aggregates.import_sdmx": [("POST", "/api/v1/imports/sdmx", {"reporter"})],
    "aggregates.import_dhis2": [("POST", "/api/v1/imports/dhis2", {"reporter"})],
    # a job is read by whoever asked for it (here the reporter) and administrators
    "jobs.job": [("GET", "/api/v1/jobs/{job}", {"reporter", "admin"})],
    "jobs.result": [("GET", "/api/v1/jobs/{job}/result", {"reporter", "admin"})],
}

CASES = [(endpoint, method, url, who, principal)
         for endpoint, lines in MATRIX.items() for method, url, allowed in lines
         for principal in PRINCIPALS for who in [principal in allowed]]


@pytest.fixture
def world(app):
    """The principals and one submitted report of T01.SCT (inside the test's rolled-back transaction)."""
    ids = {}
    for principal, (username, role, agency) in EXTRA.items():
        agency_id = db.session.scalar(select(Agency.id).where(Agency.code == agency))
        user = User(username=username, password_hash=PASSWORD_HASH, full_name=username, role=role, agency_id=agency_id,
                    email=f"{username}@baocao.local")
        db.session.add(user)
        db.session.flush()
        ids[principal] = user.id
    for principal, username in DEMO.items():
        ids[principal] = db.session.scalar(select(User.id).where(User.username == username))
    reporter = db.session.get(User, ids["reporter"])
    report = svc.open_report(user=reporter, regime_code=P[0], agency_code=P[1], period_key=P[2], for_write=True)
    sub = svc.save(user=reporter, report=report, raw={(k, ""): (str(v), False, "") for k, v in retail_values().items()},
                   outline={}, revision=None).submission
    sending_svc.submit(user=reporter, submission_id=sub.id)
    user_svc.issue_token(user=reporter, name="matrix")
    token_id = user_svc.tokens_of(user=reporter)[0].id
    from datetime import timedelta

    from app.models import AgencyCertificate
    from app.models.base import utcnow

    cert = AgencyCertificate(agency_id=reporter.agency_id, fingerprint="ab" * 32, subject="CN=Ma tran quyen", serial="1",
                             issuer="CA", not_before=utcnow() - timedelta(days=1), not_after=utcnow() + timedelta(days=300))
    db.session.add(cert)
    from app.services import jobs

    job = jobs.enqueue(kind="probe", args={"seconds": 0}, user=reporter)  # done at once in tests (JOBS_INLINE)
    from app.services import upload_jobs

    upload = upload_jobs.enqueue_upload(user=reporter, regime=P[0], agency=P[1], period=P[2], data=b"not a workbook",
                                        file_name="x.xlsx", revision=None)  # refused at once (JOBS_INLINE)
    zipped = upload_jobs.enqueue_catalogue_zip(user=db.session.get(User, ids["designer"]), data=b"not a zip", file_name="x.zip")
    db.session.commit()
    return {"ids": ids, "sid": sub.id, "token": token_id, "cert": cert.id, "job": job.id, "upload_job": upload.id, "zip_job": zipped.id}


def _call(app, world, principal, method, url):
    """The request as the principal makes it, with a body that would be accepted from the right person."""
    client = app.test_client()
    headers = {}
    if principal != "anon":
        if url.startswith("/api/"):
            user = db.session.get(User, world["ids"][principal])
            headers["Authorization"] = "Bearer " + user_svc.issue_token(user=user, name="matrix-call")
        else:
            from app.services import sessions

            user = sessions.start(user=db.session.get(User, world["ids"][principal]))
            db.session.commit()
            with client.session_transaction() as session:
                session["_user_id"] = user.get_id()
                session["_fresh"] = True
    url = _url(world, url)
    if method == "GET":
        return client.get(url, headers=headers)
    if method == "DELETE":
        return client.delete(url, headers=headers)
    revision = db.session.get(Submission, world["sid"]).revision
    where = {"regime": P[0], "agency": P[1], "period": P[2]}
    values = retail_values()
    if url == "/api/v1/submissions":
        body = {**where, "values": [{"indicator": k, "value": str(v)} for k, v in values.items()]}
    elif url == "/api/v1/compilations":
        body = dict(where)
    elif url == "/api/v1/follow-ups":
        body = {**where, "indicator": "BL_TONG"}
    elif url.endswith("/actions"):
        body = {"action": "comment", "text": "Kiểm tra quyền"}
    elif url == "/api/v1/kpis":
        body = {"regime": P[0], "indicator": "BL_TONG"}
    elif url.endswith("/external/prepare"):
        body = {"certificate": "bm90IGEgY2VydGlmaWNhdGU="}  # access first, then "not a certificate" (422)
    elif url.endswith("/external/complete"):
        body = {"request": 1, "signature": "AAAA"}
    elif url == "/api/v1/submissions/upload":
        reporter = db.session.get(User, world["ids"]["reporter"])
        template = client.get("/api/v1/regimes/BCT-BANLE/template.xlsx?agency=T01.SCT&period=2026-M12",
                              headers={"Authorization": "Bearer " + user_svc.issue_token(user=reporter)}).data
        return client.post(url, data={**where, "file": (BytesIO(fill_template(template, values)), "r.xlsx")},
                           headers=headers, content_type="multipart/form-data")
    elif url == "/api/v1/imports/sdmx":
        lines = ["STRUCTURE,STRUCTURE_ID,ACTION,REF_AREA,INDICATOR,BREAKDOWN,TIME_PERIOD,OBS_VALUE"]
        lines += [f"dataflow,VN_BAOCAO:DF_BCT-BANLE(1.0),I,T01_SCT,{k},_T,2026-M12,{v}" for k, v in values.items()]
        return client.post(url, data="\n".join(lines) + "\n", headers={**headers, "Content-Type": "text/csv"})
    elif url == "/api/v1/imports/dhis2":
        url += "?regime=BCT-BANLE"
        body = {"dataValues": [{"dataElement": k, "period": "202612", "orgUnit": "T01.SCT",
                                "categoryOptionCombo": "default", "value": str(v)} for k, v in values.items()]}
    elif url.startswith("/api/"):
        body = {"revision": revision, **({"reason": "Kiểm tra quyền"} if url.endswith(("/return", "/reopen")) else {})}
    else:
        form = {"reason": "Kiểm tra quyền", "revision": str(revision)}
        if url.startswith("/designer/BCT-BANLE"):
            form["section"] = "publish"  # a designer of another ministry must not publish this regime
        return client.post(url, data=form, headers=headers)
    return client.post(url, json=body, headers=headers)


def _url(world, url: str) -> str:
    return url.format(sid=world["sid"], token=world["token"], reporter_id=world["ids"]["reporter"], cert=world["cert"], job=world["job"],
                      upload_job=world["upload_job"], zip_job=world["zip_job"])


def _denied(response) -> bool:
    """401/403/404, or the login page asking the visitor to log in first (`?next=`)."""
    if response.status_code in (401, 403, 404):
        return True
    location = response.headers.get("Location", "")
    return response.status_code in (301, 302, 303) and "/login" in location and "next=" in location


def test_every_route_is_in_the_matrix(app):
    routes = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert routes - set(MATRIX) == set(), "routes without an access rule in the matrix"
    assert set(MATRIX) - routes == set(), "matrix lines for routes that no longer exist"
    for rule in app.url_map.iter_rules():
        methods = rule.methods - {"HEAD", "OPTIONS"}
        tested = {m for m, _, _ in MATRIX[rule.endpoint]}
        assert methods <= tested, f"{rule.endpoint}: {sorted(methods - tested)} not in the matrix"


@pytest.mark.parametrize("endpoint, method, url, allowed, principal", CASES,
                         ids=[f"{e}-{m}-{p}" for e, m, _, _, p in CASES])
def test_access(app, world, endpoint, method, url, allowed, principal):
    response = _call(app, world, principal, method, url)
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if allowed:
        assert not _denied(response), f"{principal} should be allowed: {response.status_code}"
        return
    assert _denied(response), f"{principal} should be denied: {response.status_code} {response.get_data(as_text=True)[:300]}"
    if method == "POST":  # the audit log records every write made by a request: a denied one made none
        path = _url(world, url).split("?")[0]
        left = db.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.path == path, AuditEntry.action.in_(("insert", "update", "delete"))))
        assert left == 0, "a denied write left a change behind"


@pytest.mark.parametrize("principal, sees", [("reporter", True), ("approver", True), ("reporter_other", False),
                                             ("approver_other", False), ("designer", False), ("analyst", True),
                                             ("analyst_other", False), ("designer_other", False), ("admin", True)])
def test_lists_show_only_what_is_yours(app, world, principal, sees):
    """Lists answer everyone who is logged in, but only with their own (or their units') reports."""
    sid = world["sid"]
    listed = _call(app, world, principal, "GET", "/api/v1/submissions").get_json()
    assert (sid in {item["id"] for item in listed["items"]}) is sees
    if principal in APPROVERS:
        inbox = _call(app, world, principal, "GET", "/inbox").get_data(as_text=True)
        assert (f"/submissions/{sid}" in inbox) is sees


@pytest.mark.parametrize("principal, sees", [("analyst", True), ("approver", True), ("designer", True),
                                             ("analyst_other", False), ("approver_other", False)])
def test_exports_hold_only_what_is_in_scope(app, world, principal, sees):
    """Bulk exports answer every reporting-center role, with the figures of their province only."""
    approver = db.session.get(User, world["ids"]["approver"])
    sub = db.session.get(Submission, world["sid"])
    decisions_svc.approve(user=approver, submission_id=sub.id, revision=sub.revision)
    sdmx = _call(app, world, principal, "GET", "/api/v1/exports/sdmx/data?regime=BCT-BANLE&start=2026-M12")
    assert sdmx.status_code == 200 and (",T01_SCT," in sdmx.get_data(as_text=True)) is sees
    dhis2 = _call(app, world, principal, "GET", "/api/v1/exports/dhis2?regime=BCT-BANLE&start=2026-M12")
    assert dhis2.status_code == 200 and ('"T01.SCT"' in dhis2.get_data(as_text=True)) is sees


# --------------------------------------------------------------------------- ownership, not only roles
# Routes allowed by role still decide on what is stored: whose regime, whose subtree. Each line: the
# principal, what they ask for, and whether the service must accept it (own / other / parent agency).
def _import_regime(world, principal, regime):
    from app.services import designer as designer_svc
    from app.services.errors import Forbidden, Invalid

    owner = {"BCT-BANLE": "designer", "BNV-CBCC": "designer"}.get(regime)
    data, _ = designer_svc.export_zip(user=db.session.get(User, world["ids"][owner or principal]), code=regime)
    try:
        designer_svc.import_zip(user=db.session.get(User, world["ids"][principal]), data=data)
        return True
    except Forbidden:
        return False
    except Invalid:
        return True  # past the ownership check (e.g. nothing changed)


def _request(world, principal, target):
    from datetime import UTC, date, datetime, timedelta

    from app.services import requests as requests_svc
    from app.services.errors import Forbidden, Invalid

    try:
        requests_svc.issue_request(user=db.session.get(User, world["ids"][principal]), regime_code="BCT-BANLE", title="Kiểm tra",
                                   content="", agency_codes=[target], deadline=datetime.now(UTC) + timedelta(days=3),
                                   data_from=date(2026, 11, 1), data_to=date(2026, 11, 20))
        return True
    except (Forbidden, Invalid):
        return False


OWNERSHIP = [
    ("import own ministry's regime", lambda w: _import_regime(w, "designer", "BCT-BANLE"), True),
    ("import another ministry's regime", lambda w: _import_regime(w, "designer_other", "BCT-BANLE"), False),
    ("request to own department (parent asks child)", lambda w: _request(w, "approver", "T01.SCT"), True),
    ("request to own agency", lambda w: _request(w, "approver", "T01"), False),
    ("request to another province's department", lambda w: _request(w, "approver_other", "T01.SCT"), False),
    ("ministry request to an agency its regime obliges", lambda w: _request(w, "designer", "T79.SCT"), True),
    ("ministry request to an agency of another ministry's regime", lambda w: _request(w, "designer_other", "T79.SCT"), False),
    ("approver decides on the parent-received report", lambda w: decisions_svc.can_decide(
        user=db.session.get(User, w["ids"]["approver"]), submission=db.session.get(Submission, w["sid"])), True),
    ("another province's approver decides on it", lambda w: decisions_svc.can_decide(
        user=db.session.get(User, w["ids"]["approver_other"]), submission=db.session.get(Submission, w["sid"])), False),
]


@pytest.mark.parametrize("what, attempt, allowed", OWNERSHIP, ids=[o[0] for o in OWNERSHIP])
def test_ownership(app, world, what, attempt, allowed):
    assert attempt(world) is allowed, what


@pytest.mark.parametrize("principal", ["admin"])
def test_admin_pages_are_scoped_to_the_admins_agencies(app, world, principal):
    """The national administrator sees every province's accounts; a provincial one only their own
    (the reminder log's scoping: tests/security/test_mail_and_admin_scope.py)."""
    from app.services import sessions

    provincial = user_svc.create_user(username="quantri.hcm", password="mot-cum-tu-de-nho-2026", full_name="QT HCM",
                                      role="admin", agency_code="T79")
    for user, expect_hn in ((db.session.get(User, world["ids"][principal]), True), (provincial, False)):
        sessions.start(user=user)
        db.session.commit()
        c = app.test_client()
        with c.session_transaction() as s:
            s["_user_id"], s["_fresh"] = user.get_id(), True
        page = c.get("/admin/users?per_page=500").get_data(as_text=True)
        assert ("canbo.sct.hcm" in page) is True
        import re

        assert bool(re.search(r"canbo\.sct(?![.\w-])", page)) is expect_hn  # Hà Nội's clerk, not canbo.sct.hcm
