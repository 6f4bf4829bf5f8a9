"""Server-rendered pages: login, catalogue, indicators, agency map, admin; Vietnamese first."""
import re

import pytest

from app import create_app


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_pages_require_login(client):
    for url in ("/", "/regimes", "/indicators", "/agencies", "/regimes/BCT-BANLE"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_bad_password_is_refused_in_vietnamese(client, auth):
    response = auth.login(password="sai-mat-khau")
    assert response.status_code == 200 and "Tên đăng nhập hoặc mật khẩu không đúng" in text(response)


def test_login_redirects_only_to_local_paths(client):
    from app.services.seed import DEMO_PASSWORD

    ok = client.post("/login?next=/regimes", data={"username": "canbo.sct", "password": DEMO_PASSWORD})
    assert ok.headers["Location"] == "/regimes"
    client.post("/logout")
    evil = client.post("/login?next=https://evil.example/", data={"username": "canbo.sct", "password": DEMO_PASSWORD})
    assert evil.headers["Location"] == "/"


def test_regime_list_searches_and_filters(client, auth):
    auth.login()
    page = text(client.get("/regimes"))
    assert "BCT-BANLE" in page and "VPCP-TTHC" in page and "BNV-CBCC" in page
    quarterly = text(client.get("/regimes?frequency=quarterly"))
    assert "VPCP-TTHC" in quarterly and "BCT-BANLE" not in quarterly
    by_issuer = text(client.get("/regimes?issuing_agency=BNV"))
    assert "BNV-CBCC" in by_issuer and "VPCP-TTHC" not in by_issuer
    searched = text(client.get("/regimes?q=bán lẻ"))
    assert "BCT-BANLE" in searched and "BNV-CBCC" not in searched


def test_regime_page_shows_every_decree09_element_and_the_calendar(client, auth):
    auth.login()
    page = text(client.get("/regimes/BCT-BANLE?year=2026"))
    for element in ("Tên báo cáo", "Nội dung yêu cầu báo cáo", "Đối tượng thực hiện báo cáo", "Cơ quan nhận báo cáo",
                    "Phương thức gửi, nhận báo cáo", "Thời hạn gửi báo cáo", "Tần suất thực hiện báo cáo",
                    "Thời gian chốt số liệu báo cáo", "Mẫu đề cương báo cáo", "Biểu mẫu số liệu báo cáo",
                    "Hướng dẫn quy trình thực hiện báo cáo", "Căn cứ pháp lý", "Phiên bản 1"):
        assert element in page, element
    assert "2026-M02 15/01/2026 14/02/2026 23/02/2026" in page
    assert "dời từ 17/02/2026: Tết Nguyên Đán" in page
    assert "Bộ Công Thương" in page


def test_regime_page_rejects_a_bad_year_with_a_message(client, auth):
    auth.login()
    response = client.get("/regimes/BCT-BANLE?year=20x6")
    assert response.status_code == 422 and "không hợp lệ" in text(response)


def test_unknown_regime_is_a_404_page_not_a_trace(client, auth):
    auth.login()
    response = client.get("/regimes/KHONG-CO")
    assert response.status_code == 404 and "KHONG-CO" in text(response) and "Traceback" not in text(response)


def test_indicator_library_and_which_regimes_use_an_indicator(client, auth):
    auth.login()
    listing = text(client.get("/indicators?q=TTHC"))
    assert "TTHC_TYLE_DUNGHAN" in listing and "BL_TONG" not in listing
    detail = text(client.get("/indicators/TTHC_TYLE_DUNGHAN"))
    assert "Tỷ lệ (tính lại từ tử số và mẫu số)" in detail and "VPCP-TTHC" in detail
    sexed = text(client.get("/indicators/CBCC_CONGCHUC"))
    assert "Giới tính (Nam, Nữ)" in sexed


def test_agency_map_browses_and_shows_the_2025_lineage(client, auth):
    auth.login()
    top = text(client.get("/agencies?on=2026-11-22"))
    assert "Bộ Công Thương" in top and "Tỉnh Yên Bái" not in top
    closed = text(client.get("/agencies?q=Yên Bái&closed=1"))
    assert "T15-63" in closed
    old = text(client.get("/agencies/T15-63"))
    assert "Đã kết thúc 30/06/2025" in old and "Lào Cai" in old and "Nghị quyết 202/2025/QH15" in old
    hanoi = text(client.get("/agencies/T01"))
    assert "Phường Hoàn Kiếm" in hanoi and "Sở Công Thương" in hanoi
    merged = text(client.get("/agencies/T15"))
    assert "Hình thành từ" in merged and "Tỉnh Yên Bái" in merged and "Tỉnh Lào Cai" in merged


def test_agency_search_by_name_and_level_with_paging(client, auth):
    auth.login()
    communes = text(client.get("/agencies?level=commune"))
    assert "Tổng số: 3.321" in communes  # Vietnamese thousands separator
    assert "Phường Hoàn Kiếm" in text(client.get("/agencies?q=Hoàn Kiếm"))
    assert client.get("/agencies?level=commune&page=67").status_code == 200


def test_admin_page_is_for_administrators_only(client, auth):
    auth.login("canbo.sct")
    assert client.get("/admin/users").status_code == 403


def test_admin_creates_a_user_and_sees_field_errors(client, auth):
    auth.login("quantri")
    bad = client.post("/admin/users", data={"username": "a", "full_name": "x", "role": "reporter", "agency": "NOPE", "password": "123"})
    page = text(bad)
    assert "mật khẩu cần ít nhất" in page and "NOPE" in page
    good = client.post("/admin/users", data={"username": "can.bo.moi", "full_name": "Cán Bộ Mới", "role": "reporter",
                                             "agency": "T01.STP", "password": "mat-khau-du-dai"}, follow_redirects=True)
    assert "Đã tạo tài khoản can.bo.moi" in text(good)


def test_english_is_available(client, auth):
    auth.login()
    client.get("/lang/en")
    page = text(client.get("/regimes/BCT-BANLE"))
    assert "Reporting regimes" in page and "Monthly report on retail sales" in page
    # the report form's script speaks the page's language (its messages come from the page)
    form = client.get("/reports/BCT-BANLE/T01.SCT/2026-M12").get_data(as_text=True)
    assert 'data-msg-dirty="Unsaved changes"' in form and "click “Save draft” before sending" in form


@pytest.fixture
def csrf_client(app):
    strict = create_app({**app.config, "WTF_CSRF_ENABLED": True})
    return strict.test_client()


def test_forms_without_a_csrf_token_are_refused(csrf_client):
    from app.services.seed import DEMO_PASSWORD

    response = csrf_client.post("/login", data={"username": "canbo.sct", "password": DEMO_PASSWORD})
    assert response.status_code == 400 and "CSRF" in text(response)


def test_login_page_has_a_csrf_token(csrf_client):
    assert 'name="csrf_token"' in csrf_client.get("/login").get_data(as_text=True)
