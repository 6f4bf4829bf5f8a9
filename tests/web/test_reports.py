"""Report pages: my reports, the web form (save, errors kept, autosave JSON, conflict), Excel
download and upload, submission page with seal and diff, approver inbox and decisions, requests."""
import io
import re

import pytest

from app.services.seed import DEMO_PASSWORD
from tests.helpers import fill_template, retail_values

URL = "/reports/BCT-BANLE/T01.SCT/2026-M12"


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def form_data(values: dict, **extra) -> dict:
    data = {f"v|{code}|": str(v) for code, v in values.items()}
    data.update(extra)
    return data


def submission_id(client) -> int:
    page = client.get(URL).get_data(as_text=True)
    return int(re.search(r"/submissions/(\d+)", page).group(1))


def test_my_reports_lists_deadlines_and_status(client, auth):
    auth.login()
    page = text(client.get("/reports"))
    assert "Báo cáo của tôi" in page and "Tháng 12/2026" in page and "17/12/2026" in page
    assert "Chưa bắt đầu" in page and "còn" in page and "quá hạn" in page


def test_the_form_shows_the_grid_and_saves_a_draft(client, auth):
    auth.login()
    page = client.get(URL)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="v|BL_HH_01|"' in html and 'data-kind="children"' in html and "Kỳ trước" in html
    assert 'name="v|BL_TONG|"' not in html  # totals are computed, never posted
    saved = client.post(URL, data=form_data(retail_values({"BL_HH_01": "1.234.567,5"}), **{"o|I": "Tăng do mùa lễ hội"}))
    assert saved.status_code == 302
    again = text(client.get(URL))
    assert "1.234.567,5" in again and "Đang soạn" in again and "Tăng do mùa lễ hội" in again
    assert "1.235.744,5" in again  # BL_HH computed server-side: 1.234.567,5 + (102 + … + 112)


def test_a_refused_save_names_the_field_and_keeps_what_was_typed(client, auth):
    auth.login()
    response = client.post(URL, data=form_data(retail_values({"BL_HH_01": "12a", "BL_HH_02": "-3"})))
    assert response.status_code == 422
    page = text(response)
    assert "Chưa lưu" in page and "Biểu 01 — Lương thực, thực phẩm" in page and "không phải là số" in page
    assert "nhỏ hơn mức tối thiểu" in page
    assert 'value="12a"' in response.get_data(as_text=True)  # nothing the clerk typed is lost
    assert "Chưa bắt đầu" in text(client.get(URL))  # and nothing was stored


def test_autosave_answers_json_and_a_stale_revision_is_a_conflict(client, auth):
    auth.login()
    first = client.post(URL, data=form_data({"BL_HH_01": 5}), headers={"X-Autosave": "1"})
    assert first.status_code == 200 and first.get_json()["saved"] is True
    revision = first.get_json()["revision"]
    second = client.post(URL, data=form_data({"BL_HH_01": 6}, revision=str(revision)), headers={"X-Autosave": "1"})
    assert second.get_json()["revision"] == revision + 1
    stale = client.post(URL, data=form_data({"BL_HH_01": 7}, revision=str(revision)), headers={"X-Autosave": "1"})
    assert stale.status_code == 409 and "tải lại trang" in stale.get_json()["message"]
    stale_page = client.post(URL, data=form_data({"BL_HH_01": 7}, revision=str(revision)))
    assert stale_page.status_code == 409 and 'value="7"' in stale_page.get_data(as_text=True)


def test_excel_download_and_upload_through_the_page(client, auth):
    auth.login()
    download = client.get(URL + "/template.xlsx")
    assert download.status_code == 200 and download.mimetype.endswith("spreadsheetml.sheet")
    assert "BCT-BANLE_T01.SCT_2026-M12.xlsx" in download.headers["Content-Disposition"]
    bad = fill_template(download.data, retail_values({"BL_DV_02": "mười"}))
    refused = client.post(URL + "/upload", data={"file": (io.BytesIO(bad), "so-lieu.xlsx")}, content_type="multipart/form-data")
    assert refused.status_code == 422
    assert "Biểu 01!E24" in text(refused) and "không có gì bị thay đổi" in text(refused)
    good = fill_template(download.data, retail_values())
    ok = client.post(URL + "/upload", data={"file": (io.BytesIO(good), "so-lieu.xlsx")}, content_type="multipart/form-data")
    assert ok.status_code == 302
    assert "Đang soạn" in text(client.get(URL))
    wrong = client.post(URL + "/upload", data={"file": (io.BytesIO(b"abc"), "so-lieu.csv")}, content_type="multipart/form-data")
    assert wrong.status_code == 422 and "Chỉ nhận tệp .xlsx" in text(wrong)


def test_submit_return_and_approve_through_the_pages(client, auth):
    auth.login()
    client.post(URL, data=form_data(retail_values()))
    sid = submission_id(client)
    submitted = client.post(f"/submissions/{sid}/submit", follow_redirects=True)
    assert "Đã gửi báo cáo" in text(submitted) and "Niêm phong hợp lệ" in text(submitted)
    assert client.post(f"/submissions/{sid}/approve").status_code == 403  # a reporter cannot approve
    auth.logout()
    auth.login("pheduyet.hn", DEMO_PASSWORD)
    inbox = text(client.get("/inbox"))
    assert "Sở Công Thương thành phố Hà Nội" in inbox
    no_reason = client.post(f"/submissions/{sid}/return", data={"reason": ""}, follow_redirects=True)
    assert "Cần ghi lý do" in text(no_reason)
    returned = client.post(f"/submissions/{sid}/return", data={"reason": "Thiếu giải trình mục II"}, follow_redirects=True)
    assert "Đã trả lại" in text(returned) and "Thiếu giải trình mục II" in text(returned)
    auth.logout()
    auth.login()
    form = text(client.get(URL))
    assert "Báo cáo bị trả lại" in form and "Thiếu giải trình mục II" in form
    client.post(URL, data=form_data(retail_values({"BL_HH_01": 150}), **{"o|II": "Đã bổ sung"}))
    client.post(f"/submissions/{sid}/submit")
    auth.logout()
    auth.login("pheduyet.hn", DEMO_PASSWORD)
    approved = client.post(f"/submissions/{sid}/approve", follow_redirects=True)
    page = text(approved)
    assert "Đã duyệt báo cáo" in page and "Đã duyệt" in page
    diff = text(client.get(f"/submissions/{sid}?v=2&diff=1"))
    assert "Thay đổi từ phiên bản 1 đến 2" in diff and "BL_HH_01" in diff and "II" in diff


def test_other_agencies_cannot_open_the_report(client, auth):
    auth.login("thietke.bct", DEMO_PASSWORD)
    assert client.post(URL, data=form_data({"BL_HH_01": 1})).status_code == 403
    assert client.get("/inbox").status_code == 403


def test_requests_page_and_new_request(client, auth):
    auth.login("thietke.bct", DEMO_PASSWORD)
    assert client.get("/requests/new").status_code == 200
    refused = client.post("/requests/new", data={"regime": "BCT-BANLE", "kind": "ad_hoc", "title": "Báo cáo nhanh",
                                                 "agencies": "T01.SCT NOPE", "data_from": "2026-11-01",
                                                 "data_to": "2026-11-20", "deadline": "2030-01-10"})
    assert "Không có đơn vị mã “NOPE”" in text(refused)
    made = client.post("/requests/new", data={"regime": "BCT-BANLE", "kind": "ad_hoc", "title": "Báo cáo nhanh",
                                              "agencies": "T01.SCT, T04.SCT", "data_from": "2026-11-01",
                                              "data_to": "2026-11-20", "deadline": "2030-01-10"}, follow_redirects=True)
    assert "Đã gửi yêu cầu báo cáo tới 2 đơn vị" in text(made) and "0/2 đã gửi" in text(made)
    auth.logout()
    auth.login()
    assert "Báo cáo nhanh" in text(client.get("/reports"))


@pytest.mark.parametrize("url", ["/reports/NOPE/T01.SCT/2026-M12", "/reports/BCT-BANLE/NOPE/2026-M12", "/submissions/999999"])
def test_unknown_things_are_404_pages(client, auth, url):
    auth.login()
    response = client.get(url)
    assert response.status_code == 404 and "<html" in response.get_data(as_text=True)


def test_a_bad_period_is_a_clear_error(client, auth):
    auth.login()
    response = client.get("/reports/BCT-BANLE/T01.SCT/2026-Q4")
    assert response.status_code == 422 and "không phù hợp với chế độ" in text(response)


def test_profile_issues_shows_once_and_revokes_api_tokens(client, auth):
    auth.login()
    page = client.get("/profile")
    assert page.status_code == 200 and "Người lập báo cáo" in text(page)
    issued = client.post("/profile/tokens", data={"name": "Phần mềm thống kê của Sở"})
    token = re.search(r"bc_[A-Za-z0-9_-]{20,}", issued.get_data(as_text=True)).group(0)
    assert "chỉ hiển thị một lần" in text(issued)
    assert token not in client.get("/profile").get_data(as_text=True)  # never shown again
    auth.logout()
    api = client.get("/api/v1/submissions", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    auth.login()
    token_id = re.search(r"/profile/tokens/(\d+)/revoke", client.get("/profile").get_data(as_text=True)).group(1)
    client.post(f"/profile/tokens/{token_id}/revoke")
    auth.logout()
    assert client.get("/api/v1/submissions", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_form_too_big_for_the_browser_is_filled_through_excel(app, client, auth):
    app.config["WEB_GRID_MAX_CELLS"] = 10  # the retail form has more cells than this
    try:
        auth.login()
        page = client.get(URL).get_data(as_text=True)
        assert 'data-testid="excel-only"' in page and 'id="report-form"' not in page
        assert 'data-testid="upload-button"' in page and "Tải mẫu Excel" in page
        template = client.get(URL + "/template.xlsx").data
        ok = client.post(URL + "/upload", data={"file": (io.BytesIO(fill_template(template, retail_values())), "x.xlsx")},
                         content_type="multipart/form-data")
        assert ok.status_code == 302
        after = client.get(URL).get_data(as_text=True)
        assert "phiên bản 1" in after and 'data-testid="submit-button"' in after  # submitted from the same page
    finally:
        app.config["WEB_GRID_MAX_CELLS"] = 3000


def test_a_large_workbook_is_read_by_a_job_its_page_names_the_cell_and_the_same_file_twice_is_one_version(app, client, auth, monkeypatch):
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Job, SubmissionVersion

    monkeypatch.setitem(app.config, "UPLOAD_INTERACTIVE_BYTES", 1000)  # every workbook is "large" here
    auth.login()
    template = client.get(URL + "/template.xlsx").data
    bad = fill_template(template, retail_values({"BL_DV_02": "mười"}))
    queued = client.post(URL + "/upload", data={"file": (io.BytesIO(bad), "lon.xlsx")}, content_type="multipart/form-data")
    assert queued.status_code == 302 and "/uploads/" in queued.headers["Location"]
    page = client.get(queued.headers["Location"])
    assert page.status_code == 422  # the job ran (at once in tests) and refused the file: every problem, by sheet and cell
    assert "Biểu 01!E24" in text(page) and "không có gì được lưu" in text(page)
    assert db.session.scalar(select(func.count()).select_from(SubmissionVersion)) == 0  # nothing saved

    good = fill_template(template, retail_values())
    before = db.session.scalar(select(func.count()).select_from(SubmissionVersion))
    first = client.post(URL + "/upload", data={"file": (io.BytesIO(good), "lon.xlsx")}, content_type="multipart/form-data")
    again = client.post(URL + "/upload", data={"file": (io.BytesIO(good), "lon.xlsx")}, content_type="multipart/form-data")
    assert first.headers["Location"] == again.headers["Location"]  # a second click is the same job
    done = client.get(first.headers["Location"])
    assert done.status_code == 302 and done.headers["Location"].endswith(URL)
    assert "Đã nhận tệp lon.xlsx" in text(client.get(done.headers["Location"]))
    assert db.session.scalar(select(func.count()).select_from(SubmissionVersion)) == before + 1
    assert client.get(first.headers["Location"] + "?format=json").get_json()["state"] == "done"
    job_id = int(first.headers["Location"].rsplit("/", 1)[1])
    assert db.session.get(Job, job_id).kind == "upload"
    auth.logout()
    auth.login("pheduyet.hn", DEMO_PASSWORD)
    assert client.get(first.headers["Location"]).status_code in (403, 404)  # the uploader's page only


def test_a_large_workbook_through_the_api_answers_202_and_the_job_gives_the_version(app, client, monkeypatch):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import User
    from app.services.users import issue_token

    monkeypatch.setitem(app.config, "UPLOAD_INTERACTIVE_BYTES", 1000)
    clerk = db.session.scalar(select(User).where(User.username == "canbo.sct"))
    auth_header = {"Authorization": "Bearer " + issue_token(user=clerk)}
    template = client.get("/api/v1/regimes/BCT-BANLE/template.xlsx?agency=T01.SCT&period=2026-M12", headers=auth_header).data
    where = {"regime": "BCT-BANLE", "agency": "T01.SCT", "period": "2026-M12"}
    posted = client.post("/api/v1/submissions/upload", headers=auth_header, content_type="multipart/form-data",
                         data={**where, "file": (io.BytesIO(fill_template(template, retail_values())), "lon.xlsx")})
    assert posted.status_code == 202 and posted.headers["Location"].startswith("/api/v1/jobs/")
    job = client.get(posted.headers["Location"], headers=auth_header).get_json()
    assert job["status"] == "done"
    result = client.get(job["result_url"], headers=auth_header).get_json()
    assert result["version"] == 1 and result["submission"] > 0
    other = {**where, "agency": "T79.SCT"}  # not the clerk's agency: refused in the request, nothing queued
    refused = client.post("/api/v1/submissions/upload", headers=auth_header, content_type="multipart/form-data",
                          data={**other, "file": (io.BytesIO(fill_template(template, retail_values())), "lon.xlsx")})
    assert refused.status_code in (403, 404) and refused.get_json()["error"]["code"]
