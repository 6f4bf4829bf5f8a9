"""The foundation as a user meets it, in a real headless Chromium."""
from playwright.sync_api import expect

from tests.e2e.pages import login


def test_a_clerk_logs_in_finds_a_regime_and_reads_its_calendar(page, live_server):
    login(page, live_server)
    assert "Nguyễn Thị Lan" in page.inner_text("[data-testid=whoami]")
    page.click("[data-testid=nav-lookup]")
    page.click("nav >> text=Chế độ báo cáo")
    page.fill("input[name=q]", "bán lẻ")
    page.click("text=Lọc")
    rows = page.locator("[data-testid=regimes] tbody tr")
    expect(rows).to_have_count(1)
    page.click("text=BCT-BANLE")
    assert "Thời gian chốt số liệu báo cáo" in page.inner_text("[data-testid=elements]")
    page.goto(f"{live_server}/regimes/BCT-BANLE?year=2026#calendar")
    calendar = page.inner_text("[data-testid=calendar]")
    assert "15/01/2026" in calendar and "23/02/2026" in calendar and "Tết Nguyên Đán" in calendar


def test_wrong_password_shows_a_message_and_stays_on_the_login_page(page, live_server):
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", "canbo.sct")
    page.fill("input[name=password]", "sai")
    page.click("button[type=submit]")
    assert "không đúng" in page.inner_text(".alert")
    assert page.url.endswith("/login")


def test_browsing_the_agency_map_down_to_a_commune_and_back_to_history(page, live_server):
    login(page, live_server)
    page.goto(f"{live_server}/agencies")
    page.fill("input[name=q]", "Lào Cai")
    page.click("form[role=search] button")
    page.click("[data-testid=agencies] a:text-is('T15')")
    assert "Tỉnh Yên Bái" in page.inner_text("[data-testid=predecessors]")
    page.click("[data-testid=predecessors] >> text=Tỉnh Yên Bái")
    assert "30/06/2025" in page.inner_text("h1")


def test_switching_to_english_and_back(page, live_server):
    login(page, live_server)
    page.click("text=EN")
    page.click("[data-testid=nav-lookup]")
    assert "Look up" in page.inner_text("nav") and "Reporting regimes" in page.inner_text("nav")
    page.click("text=VI")
    page.click("[data-testid=nav-lookup]")
    assert "Tra cứu" in page.inner_text("nav") and "Chế độ báo cáo" in page.inner_text("nav")


def test_admin_creates_an_account_through_the_form_with_csrf(page, live_server):
    login(page, live_server, "quantri")
    page.goto(f"{live_server}/admin/users")
    form = page.locator("[data-testid=create-user]")
    form.locator("input[name=username]").fill("can.bo.e2e")
    form.locator("input[name=full_name]").fill("Cán Bộ Thử")
    form.locator("select[name=role]").select_option("reporter")
    form.locator("input[name=agency]").fill("T01.STP")
    form.locator("input[name=password]").fill("mat-khau-du-dai")
    form.locator("button").click()
    assert "Đã tạo tài khoản can.bo.e2e" in page.inner_text(".alert")
