"""Everyday use in a real headless Chromium: "Gửi báo cáo" asks first (saying no sends nothing);
a reporter whose report is returned is told under the bell, follows the notice to the reason and
resubmits from it."""
from playwright.sync_api import expect

from tests.e2e.pages import expect_flash, login, logout
from tests.helpers import retail_values

PERIOD = "2027-M06"  # a month no other browser test touches, nor the month before it




def flashed(page) -> str:
    return " ".join(page.locator(".alert").all_inner_texts())


def test_sending_asks_first_and_no_sends_nothing(browser, live_server):
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    page = context.new_page()
    asked = []

    def say_no(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", say_no)
    login(page, live_server, "canbo.sct")
    page.goto(f"{live_server}/reports/BCT-BANLE/T01.SCT/2027-M09")
    for code, value in retail_values().items():
        page.locator(f"input[data-cell='{code}|']").fill(str(value))
    page.click("[data-testid=save-button]")
    expect_flash(page, "Đã lưu bản nháp")  # saved (the page reloaded) before sending
    page.click("[data-testid=submit-button]")
    assert asked and "khóa và niêm phong" in asked[0]
    expect(page.locator("[data-testid=submit-button]")).to_be_visible()  # still a draft: nothing was sent
    assert "niêm phong" not in flashed(page)
    context.close()


def test_a_returned_report_is_told_under_the_bell_and_resubmitted_from_the_notice(page, live_server):
    base = live_server
    login(page, base, "canbo.sct")
    page.goto(f"{base}/reports/BCT-BANLE/T01.SCT/{PERIOD}")
    for code, value in retail_values().items():
        page.locator(f"input[data-cell='{code}|']").fill(str(value))
    page.click("[data-testid=save-button]")
    expect_flash(page, "Đã lưu bản nháp")  # saved (the page reloaded) before sending
    page.click("[data-testid=submit-button]")
    expect_flash(page, "đã niêm phong")
    logout(page)

    login(page, base, "pheduyet.hn")
    page.click("[data-testid=nav-inbox]")
    page.locator("[data-testid=inbox-row]", has_text="Sở Công Thương thành phố Hà Nội").filter(has_text="Tháng 6/2027").locator("text=Xem").click()
    page.fill("[data-testid=return-reason]", "Doanh thu lưu trú chưa gồm khách sạn Đông Anh")
    page.click("[data-testid=return-button]")
    logout(page)

    login(page, base, "canbo.sct")
    expect(page.locator("[data-testid=bell-count]")).to_be_visible()  # unread notices (other browser tests add theirs)
    page.click("[data-testid=bell]")
    notice = page.locator("[data-testid=notifications] li").first
    assert "Báo cáo bị trả lại" in notice.inner_text() and "khách sạn Đông Anh" in notice.inner_text()
    notice.locator("[data-testid=notification-link]").click()
    callout = page.locator("[data-testid=returned-callout]")
    assert "Doanh thu lưu trú chưa gồm khách sạn Đông Anh" in callout.inner_text()
    callout.locator("[data-testid=fix-and-resend]").click()
    page.locator("input[data-cell='BL_HH_01|']").fill("1.250")
    page.click("[data-testid=save-button]")
    expect_flash(page, "Đã lưu bản nháp")  # saved (the page reloaded) before sending
    page.click("[data-testid=submit-button]")
    expect_flash(page, "đã niêm phong")
    page.click("[data-testid=history-link]")
    expect(page.locator("[data-testid=versions] tbody tr")).to_have_count(2)  # the returned version kept, the new one beside it
