"""An analyst of the reporting center in a real headless Chromium, on fifteen months of retail
reports with slips seeded into October 2026: the center opens on the latest month with meaningful
coverage, the analyst picks a period, reads a like-for-like comparison with its coverage, clicks a
province on the map, flags an outlier, asks the department to check; the department's clerk is
told under the bell and lands on the cell."""
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import User
from tests.e2e.pages import login, logout
from tests.integration.test_data_quality import CHECKED, load_retail_history


def test_analyst_compares_maps_flags_an_outlier_and_the_reporter_is_told(page, live_server, live_app):
    with live_app.app_context():
        seeded = load_retail_history(db.session.scalar(select(User).where(User.username == "quantri")))
    hanoi = next(ind for (a, ind) in seeded if a == "T01.SCT")
    base = live_server
    login(page, base, "phantich.vpcp")
    page.goto(f"{base}/center?regime=BCT-BANLE")
    assert f"/center/BCT-BANLE/{CHECKED}" in page.url  # the latest month most departments reported (not this month)
    # the period picker: September, then back to October
    page.select_option("[data-testid=period-picker] select", "2026-M09")
    page.wait_for_url("**/center/BCT-BANLE/2026-M09**")
    assert "Tháng 9/2026" in page.inner_text("[data-testid=period-picker]")
    page.select_option("[data-testid=period-picker] select", CHECKED)
    page.wait_for_url(f"**/center/BCT-BANLE/{CHECKED}**")
    # like for like: three departments did not report in September, so the change from September
    # is computed over the 31 that reported in both months, and says so
    expect(page.locator("[data-testid=like-for-like]")).to_be_visible()
    vs_previous = page.inner_text("[data-testid=compare-BL_TONG-1]")
    assert "*" in vs_previous and "31 đơn vị có ở cả hai kỳ" in vs_previous
    # the map: Hà Nội is a link to its own page
    page.goto(f"{base}/center/BCT-BANLE/{CHECKED}?chart=BL_TONG#map")
    page.locator("[data-testid=map-box] a:has(path[data-code='T01'])").click()
    page.wait_for_url("**unit=T01**")
    expect(page.locator("[data-testid=center-title]")).to_contain_text("Hà Nội")
    # completeness at national scale: every department that owes the month is on the page, grouped by province
    page.goto(f"{base}/center/BCT-BANLE/{CHECKED}/completeness")
    expect(page.locator("[data-testid=completeness-matrix] tr[data-unit]")).to_have_count(34)
    assert page.locator("[data-testid^=province-]").count() == 34
    assert "Tải Excel (mọi đơn vị)" in page.inner_text("[data-testid=completeness-xlsx]")
    # data quality: Hà Nội's slipped cell is on the list; follow it up and ask the department to check
    page.goto(f"{base}/center/BCT-BANLE/{CHECKED}")
    page.click("[data-testid=quality-link]")
    row = page.locator(f"[data-testid=flag-T01\\.SCT-{hanoi}]")
    expect(row).to_be_visible()
    assert "kỳ gần đây" in row.inner_text()
    row.locator(f"[data-testid=follow-T01\\.SCT-{hanoi}]").click()
    page.fill("#fu-text", "Số liệu tăng gấp mười lần so với các tháng trước, đề nghị kiểm tra đơn vị tính")
    page.click("[data-testid=ask-reporter]")
    expect(page.locator("[data-testid=follow-up-status]")).to_contain_text("Đã đề nghị kiểm tra")  # the page after the POST
    page.goto(f"{base}/center/follow-ups")
    assert "Sở Công Thương" in page.inner_text("[data-testid=follow-ups]")
    logout(page)

    login(page, base, "canbo.sct")
    page.click("[data-testid=bell]")
    notice = page.locator("[data-testid=notifications] li", has_text="Đề nghị kiểm tra số liệu").first
    notice.locator("[data-testid=notification-link]").click()
    page.wait_for_url(f"**#row-{hanoi}")
    expect(page.locator("[data-testid=checks-callout]")).to_contain_text("đơn vị tính")
    expect(page.locator(f"#row-{hanoi}")).to_be_in_viewport()
