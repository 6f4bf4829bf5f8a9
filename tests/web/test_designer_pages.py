"""Designer pages: each section of the guided form posts into the draft; refusals are shown."""
import io
import re

import pytest

from app.services.seed import DEMO_PASSWORD


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


@pytest.fixture
def designer(client, auth):
    auth.login("thietke.bct", DEMO_PASSWORD)
    return client


def build(client, code="BCT-XNK"):
    client.post("/designer/new", data={"code": code, "name_vi": "Báo cáo xuất nhập khẩu quý", "frequency": "quarterly",
                                       "valid_from": "2025-07-01"})
    client.post(f"/designer/{code}", data={"section": "elements", "name_vi": "Báo cáo xuất nhập khẩu quý", "type": "periodic",
                                           "frequency": "quarterly", "valid_from": "2025-07-01", "legal_basis": "Thông tư thử",
                                           "content": "Kim ngạch xuất nhập khẩu", "content_kind": "both",
                                           "sending_methods": ["system", "edoc"], "cutoff_rule": "decree09",
                                           "reminder_days": "-3, 0, 2", "lock_after_days": "20"})
    client.post(f"/designer/{code}", data={"section": "tiers", "tier_count": "2", "tier0_name": "Sở gửi Bộ",
                                           "tier0_levels": ["department"], "tier0_kinds": "SCT", "tier0_receiver": "BCT",
                                           "tier0_rule": "day_of_month", "tier0_day": "20"})
    client.post(f"/designer/{code}", data={"section": "outline", "section_count": "2", "sec0_code": "I",
                                           "sec0_title": "Tình hình chung", "sec0_compiled": "1"})
    client.post(f"/designer/{code}", data={"section": "add_form", "form_code": "BIEU01", "form_title": "Xuất khẩu"})
    client.post(f"/designer/{code}/forms/BIEU01", data={
        "section": "form", "title": "Xuất khẩu", "columns": ["previous"], "change_warning_pct": "30", "row_count": "4",
        "row0_order": "2", "row0_indicator": "bl_hh", "row0_row": "1", "row0_parent": "BL_TONG",
        "row1_order": "1", "row1_indicator": "BL_TONG", "row1_row": "A",
        "row2_order": "3", "row2_indicator": "BL_DV", "row2_row": "2", "row2_parent": "BL_TONG",
        "rules": "BL_HH <= BL_TONG | error | Hàng hóa không vượt tổng\n"})


def test_the_guided_form_builds_a_publishable_regime(designer):
    build(designer)
    page = designer.get("/designer/BCT-XNK")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Còn thiếu" not in text(page)
    checklist = html[html.index('data-testid="checklist"'):html.index("</ul>", html.index('data-testid="checklist"'))]
    assert checklist.count('data-present="0"') == 1 and checklist.count('data-present="1"') == 10  # process guidance: not required with one tier
    assert "x-circle-fill" not in checklist  # nothing required is missing
    draft_form = text(designer.get("/designer/BCT-XNK/forms/BIEU01"))
    assert "BL_TONG" in draft_form and "Hàng hóa không vượt tổng" in draft_form
    preview = designer.get("/designer/BCT-XNK/preview")
    assert preview.status_code == 200 and 'data-kind="children"' in preview.get_data(as_text=True)
    xlsx = designer.get("/designer/BCT-XNK/preview?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    published = designer.post("/designer/BCT-XNK", data={"section": "publish"}, follow_redirects=True)
    assert "Đã công bố phiên bản 1 của BCT-XNK" in text(published)
    exported = designer.get("/designer/BCT-XNK/export.zip")
    assert exported.status_code == 200 and exported.mimetype == "application/zip"
    regime_page = text(designer.get("/regimes/BCT-XNK"))
    assert "Báo cáo xuất nhập khẩu quý" in regime_page and "Sở gửi Bộ" in regime_page


def test_rows_are_ordered_and_codes_normalised(designer, app):
    build(designer)
    from app.extensions import db
    from app.models import RegimeDraft

    draft = db.session.query(RegimeDraft).filter_by(regime_code="BCT-XNK").one()
    rows = draft.document["forms"]["BIEU01"]["rows"]
    assert [r["indicator"] for r in rows] == ["BL_TONG", "BL_HH", "BL_DV"]
    assert draft.document["regime"]["reminder_days"] == [-3, 0, 2]
    assert draft.document["regime"]["tiers"][0]["deadline"] == {"rule": "day_of_month", "day": 20}


def test_an_incomplete_draft_cannot_be_published(designer):
    designer.post("/designer/new", data={"code": "BCT-THIEU", "name_vi": "Báo cáo còn thiếu", "frequency": "monthly",
                                         "valid_from": "2026-01-01"})
    page = text(designer.get("/designer/BCT-THIEU"))
    assert "Còn thiếu: Nội dung yêu cầu báo cáo; Đối tượng thực hiện báo cáo" in page
    refused = designer.post("/designer/BCT-THIEU", data={"section": "publish"}, follow_redirects=True)
    assert "Chưa công bố được" in text(refused) and "Thiếu yếu tố: Cơ quan nhận báo cáo" in text(refused)


def test_bad_values_are_named_by_the_parser(designer):
    build(designer)
    designer.post("/designer/BCT-XNK", data={"section": "tiers", "tier_count": "1", "tier0_name": "Sở gửi Bộ",
                                             "tier0_levels": ["department"], "tier0_receiver": "BCT",
                                             "tier0_rule": "day_of_month", "tier0_day": "ba mươi"})
    page = text(designer.get("/designer/BCT-XNK"))
    assert "“Ngày” phải là số nguyên từ 1 đến 31" in page and "“day”" not in page  # the field as the designer sees it


def test_rule_checker_and_similar_indicators(designer):
    build(designer)
    checked = text(designer.post("/designer/BCT-XNK/forms/BIEU01", data={"section": "rule_check", "rule": "BL_HH <= BL_TONG",
                                                                         "sample": "BL_HH=5; BL_TONG=4"}))
    assert "quy tắc KHÔNG thỏa" in checked
    unknown = text(designer.post("/designer/BCT-XNK/forms/BIEU01", data={"section": "rule_check", "rule": "NOPE = BL_HH",
                                                                         "sample": ""}))
    assert "Mã chỉ tiêu không có trong biểu: NOPE" in unknown
    similar = designer.post("/designer/BCT-XNK/forms/BIEU01", data={
        "section": "indicator", "ind_code": "XK_TONG", "ind_name_vi": "Tổng mức bán lẻ hàng hoá", "ind_unit": "triệu đồng",
        "ind_value_type": "number", "ind_aggregation": "sum"})
    assert similar.status_code == 409 and "BL_HH" in text(similar) and "không thu thập trùng lặp" in text(similar)
    added = designer.post("/designer/BCT-XNK/forms/BIEU01", data={
        "section": "indicator", "ind_code": "XK_TONG", "ind_name_vi": "Kim ngạch xuất khẩu", "ind_unit": "triệu USD",
        "ind_value_type": "number", "ind_aggregation": "sum", "ind_min": "0"}, follow_redirects=True)
    assert "Đã thêm chỉ tiêu XK_TONG" in text(added)


def test_only_designers_of_the_issuing_agency(client, auth):
    auth.login("canbo.sct", DEMO_PASSWORD)
    assert client.get("/designer").status_code == 403
    auth.logout()
    auth.login("thietke.bct", DEMO_PASSWORD)
    assert client.get("/designer/VPCP-TTHC").status_code == 403
    assert client.get("/designer/NOPE").status_code == 404


def test_import_page_reports_the_result(designer):
    data = designer.get("/designer/BCT-BANLE/export.zip").data
    done = designer.post("/designer/import", data={"file": (io.BytesIO(data), "bct.zip")}, content_type="multipart/form-data",
                         follow_redirects=True)
    assert "không đổi BCT-BANLE" in text(done)
    bad = designer.post("/designer/import", data={"file": (io.BytesIO(b"xx"), "bct.zip")}, content_type="multipart/form-data",
                        follow_redirects=True)
    assert "Tệp phải là tệp .zip" in text(bad)


def test_a_large_catalogue_zip_is_checked_and_loaded_by_a_job(app, designer, monkeypatch):
    import zipfile

    monkeypatch.setitem(app.config, "IMPORT_INTERACTIVE_BYTES", 100)  # every zip is "large" here
    data = designer.get("/designer/BCT-BANLE/export.zip").data
    queued = designer.post("/designer/import", data={"file": (io.BytesIO(data), "bct.zip")}, content_type="multipart/form-data")
    assert queued.status_code == 302 and "/designer/imports/" in queued.headers["Location"]
    assert designer.get(queued.headers["Location"] + "?format=json").get_json()["state"] == "done"
    done = designer.get(queued.headers["Location"], follow_redirects=True)
    assert "không đổi BCT-BANLE" in text(done)
    # a zip whose regime file is broken: the job refuses it, names what is wrong, writes nothing
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(broken, "w") as out:
        for info in src.infolist():
            body = src.read(info)
            out.writestr(info, body.replace(b"frequency: monthly", b"frequency: sometimes") if info.filename.endswith("regime.yaml") else body)
    refused = designer.post("/designer/import", data={"file": (io.BytesIO(broken.getvalue()), "hong.zip")},
                            content_type="multipart/form-data")
    page = designer.get(refused.headers["Location"])
    assert page.status_code == 422 and "không có gì được lưu" in text(page) and "sometimes" in text(page)
