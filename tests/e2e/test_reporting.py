"""Reporting as clerks and approvers do it, in a real headless Chromium: fill the web form with
live totals and autosave, submit, be returned, fix, resubmit, be approved; and the Excel way."""
import re

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import Agency, Submission, SubmissionVersion
from tests.e2e.pages import expect_flash, login, logout
from tests.helpers import fill_template, retail_values


def cell(page, code):
    return page.locator(f"input[data-cell='{code}|']")


def test_web_form_submit_return_fix_resubmit_approve(page, live_server):
    login(page, live_server, "canbo.sct")
    page.click("[data-testid=nav-my-reports]")
    row = page.locator("[data-testid=report-row][data-regime=BCT-BANLE][data-period='2026-M12']")
    assert "Chưa bắt đầu" in row.inner_text() and "17/12/2026" in row.inner_text()
    row.locator("text=Mở").click()
    assert "Tháng 12/2026" in page.inner_text("[data-testid=period]")

    values = retail_values({"BL_HH_01": "1.000,5"})
    for code, value in values.items():
        cell(page, code).fill(str(value))
    # totals follow as the clerk types, in Vietnamese number format
    assert cell(page, "BL_HH").input_value() == "2.177,5"  # 1.000,5 + 102 + … + 112
    assert cell(page, "BL_TONG").input_value() == "2.621,5"
    page.fill("textarea[name='o|I']", "Sức mua tăng dịp cuối năm")
    # (a locator assertion, not wait_for_function: the page's CSP forbids evaluating strings)
    expect(page.locator("[data-testid=autosave-status]")).to_contain_text("Đã tự động lưu")

    page.click("[data-testid=save-button]")
    assert "Đã lưu bản nháp" in page.inner_text(".alert-success")
    assert cell(page, "BL_HH_01").input_value() == "1.000,5"
    page.click("[data-testid=submit-button]")
    assert "đã niêm phong" in page.inner_text(".alert-success")
    assert "Niêm phong hợp lệ" in page.inner_text("[data-testid=seal]")
    assert "Đã gửi, chờ duyệt" in page.inner_text("[data-testid=status]")
    logout(page)

    login(page, live_server, "pheduyet.hn")
    page.click("[data-testid=nav-inbox]")
    page.locator("[data-testid=inbox-row]", has_text="Sở Công Thương thành phố Hà Nội").filter(has_text="Tháng 12/2026").locator("text=Xem").click()
    page.fill("[data-testid=return-reason]", "Dòng lương thực cần đối chiếu với Cục Thống kê")
    page.click("[data-testid=return-button]")
    assert "Đã trả lại" in page.inner_text(".alert-success")
    logout(page)

    login(page, live_server, "canbo.sct")
    page.click("[data-testid=nav-my-reports]")
    row = page.locator("[data-testid=report-row][data-regime=BCT-BANLE][data-period='2026-M12']")
    assert "Bị trả lại" in row.inner_text()
    row.locator("text=Mở").click()
    assert "đối chiếu với Cục Thống kê" in page.inner_text("[data-testid=returned-reason]")
    cell(page, "BL_HH_01").fill("980")
    page.fill("input[name='c|BL_HH_01']", "Đã đối chiếu, điều chỉnh theo số liệu Cục Thống kê")
    page.click("[data-testid=save-button]")
    expect_flash(page, "Đã lưu bản nháp")  # saved (the page reloaded) before sending
    page.click("[data-testid=submit-button]")
    assert "Niêm phong hợp lệ" in page.inner_text("[data-testid=seal]")
    logout(page)

    login(page, live_server, "pheduyet.hn")
    page.click("[data-testid=nav-inbox]")
    page.locator("[data-testid=inbox-row]", has_text="Sở Công Thương thành phố Hà Nội").filter(has_text="Tháng 12/2026").locator("text=Xem").click()
    page.click("[data-testid=approve-button]")
    assert "Đã duyệt báo cáo" in page.inner_text(".alert-success")
    assert "Niêm phong hợp lệ" in page.inner_text("[data-testid=seal]")
    versions = page.inner_text("[data-testid=versions]")
    assert "Đã duyệt" in versions and "Bị trả lại" in versions
    page.click("[data-testid=diff-2]")
    assert re.search(r"BL_HH_01\s+Tổng số\s+1\.000,5\s+980", page.inner_text("[data-testid=diff]"))
    events = page.inner_text("[data-testid=events]")
    assert "Trả lại" in events and "Duyệt" in events and "Nguyễn Thị Lan" in events


def test_excel_download_fill_upload(page, live_server, tmp_path):
    login(page, live_server, "canbo.sct")
    page.goto(f"{live_server}/reports/BCT-BANLE/T01.SCT/2026-M11")
    with page.expect_download() as info:
        page.click("[data-testid=template-link]")
    template = (tmp_path / "mau.xlsx")
    info.value.save_as(template)
    bad = tmp_path / "loi.xlsx"
    bad.write_bytes(fill_template(template.read_bytes(), retail_values({"BL_DV_05": "năm trăm"})))
    page.set_input_files("[data-testid=upload-file]", str(bad))
    page.click("[data-testid=upload-button]")
    problems = page.inner_text("[data-testid=upload-errors]")
    assert "Biểu 01!E27" in problems and "không phải là số" in problems
    good = tmp_path / "dung.xlsx"
    good.write_bytes(fill_template(template.read_bytes(), retail_values()))
    page.set_input_files("[data-testid=upload-file]", str(good))
    page.click("[data-testid=upload-button]")
    assert "Đã nhận tệp dung.xlsx" in page.inner_text(".alert-success")
    assert cell(page, "BL_TONG").input_value() == "1.722"


def test_a_large_workbook_is_read_in_the_background_and_its_page_follows_it(page, live_server, live_app, tmp_path, monkeypatch):
    """Above UPLOAD_INTERACTIVE_BYTES the workbook is read by a job (here, every workbook): the
    clerk lands on its page, which follows the job and moves on by itself — to the problems, by
    sheet and cell, or to the report with the new version."""
    import threading

    from app.services import jobs

    monkeypatch.setitem(live_app.config, "UPLOAD_INTERACTIVE_BYTES", 1000)
    read = jobs.HANDLERS["upload"]
    go = threading.Semaphore(0)

    def slow(job, progress):  # the job waits until the test has seen its page show it running
        go.acquire(timeout=30)
        return read(job, progress)

    monkeypatch.setitem(jobs.HANDLERS, "upload", slow)
    login(page, live_server, "canbo.sct")
    page.goto(f"{live_server}/reports/BCT-BANLE/T01.SCT/2027-M04")
    with page.expect_download() as info:
        page.click("[data-testid=template-link]")
    template = tmp_path / "mau.xlsx"
    info.value.save_as(template)
    bad = tmp_path / "lon-loi.xlsx"
    bad.write_bytes(fill_template(template.read_bytes(), retail_values({"BL_DV_05": "năm trăm"})))
    page.set_input_files("[data-testid=upload-file]", str(bad))
    page.click("[data-testid=upload-button]")
    page.wait_for_url("**/uploads/*")
    expect(page.locator("[data-testid=job-step]")).to_be_visible()  # running: the page follows it
    go.release()
    expect(page.locator("[data-testid=upload-problems]")).to_contain_text("Biểu 01!E27")
    assert "không có gì được lưu" in page.inner_text("[data-testid=upload-refused]")
    page.click("[data-testid=back-link]")
    page.wait_for_url("**/reports/BCT-BANLE/T01.SCT/2027-M04")  # the file goes into the report's form, not the page left
    page.wait_for_load_state("load")
    good = tmp_path / "lon.xlsx"
    good.write_bytes(fill_template(template.read_bytes(), retail_values()))
    page.set_input_files("[data-testid=upload-file]", str(good))
    with page.expect_navigation() as sent:
        page.click("[data-testid=upload-button]")
    # not "try again later" (503): CI saw that twice, behind the first job's hold of SQLite's write
    # lock (tests/integration/test_job_locks.py)
    assert sent.value.status != 503
    page.wait_for_url("**/uploads/*")
    expect(page.locator("[data-testid=job-step]")).to_be_visible()
    go.release()
    page.wait_for_url("**/reports/BCT-BANLE/T01.SCT/2027-M04")  # the job page moved on by itself
    expect(page.locator(".alert-success")).to_contain_text("Đã nhận tệp lon.xlsx")
    assert cell(page, "BL_TONG").input_value() == "1.722"


def test_a_save_clicked_while_an_autosave_is_answered_waits_for_it_and_is_not_taken_for_someone_elses_change(page, live_server):
    """The clerk clicks "Lưu" while an autosave is on its way. The autosave reaches the server (the
    report's revision moves on) but its answer is held back; the save must wait for it and go with
    the new revision — sent at once, it carried the old one and the clerk was told her report had
    been changed by someone else: herself (CI saw it, session 7)."""
    held = []

    def hold_autosave_answer(route):
        if route.request.method == "POST" and route.request.headers.get("x-autosave") == "1" and not held:
            held.append((route, route.fetch()))  # the server has saved; the page does not know yet
        else:
            route.continue_()

    login(page, live_server, "canbo.sct")
    page.goto(f"{live_server}/reports/BCT-BANLE/T01.SCT/2027-M02")  # a month no other browser test touches
    cell(page, "BL_HH_03").fill("7")
    page.click("[data-testid=save-button]")
    expect_flash(page, "Đã lưu bản nháp")  # the report exists: its page carries its revision
    page.route("**/reports/BCT-BANLE/T01.SCT/2027-M02", hold_autosave_answer)
    cell(page, "BL_HH_01").fill("1.234")
    for _ in range(100):  # the autosave runs every second (AUTOSAVE_SECONDS=1 in these tests)
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "no autosave was sent"
    cell(page, "BL_HH_02").fill("56")
    page.click("[data-testid=save-button]")
    page.wait_for_timeout(500)  # held, not sent: the page has not been reloaded
    assert not page.locator(".alert-danger").count(), page.inner_text(".alert-danger")  # (sent at once: "changed by … after you opened it")
    assert "Có thay đổi chưa lưu" in page.inner_text("[data-testid=autosave-status]")
    route, answer = held[0]
    with page.expect_navigation():  # the autosave's answer arrives; the held save goes
        route.fulfill(response=answer)
    expect_flash(page, "Đã lưu bản nháp")
    assert not page.locator(".alert-danger").count()
    assert cell(page, "BL_HH_01").input_value() == "1.234" and cell(page, "BL_HH_02").input_value() == "56"


def test_sending_with_changes_not_saved_asks_to_save_first_and_sending_during_an_autosave_waits_for_it(page, live_server, live_app):
    """"Gửi báo cáo" sends the stored draft. With edits not saved yet it would send without them:
    the clerk is told to save first and nothing is sent. Clicked while an autosave is on its way,
    it waits for its answer and goes with the new revision (not refused as someone else's change)."""
    holding, held = [True], []

    def hold_autosave_answers(route):
        if route.request.method == "POST" and route.request.headers.get("x-autosave") == "1" and holding[0]:
            held.append((route, route.fetch()))
        else:
            route.continue_()

    def wait_held(n):
        for _ in range(100):
            if len(held) >= n:
                return
            page.wait_for_timeout(100)
        raise AssertionError("no autosave was sent")

    url = f"{live_server}/reports/BCT-BANLE/T01.SCT/2027-M03"  # a month no other browser test touches
    login(page, live_server, "canbo.sct")
    page.goto(url)
    for code, value in retail_values().items():
        cell(page, code).fill(str(value))
    page.click("[data-testid=save-button]")
    expect_flash(page, "Đã lưu bản nháp")
    page.route(url, hold_autosave_answers)

    cell(page, "BL_HH_01").fill("1.500")
    wait_held(1)  # saved on the server, its answer held
    cell(page, "BL_HH_02").fill("60")  # typed since: not saved anywhere
    page.click("[data-testid=submit-button]")
    expect(page.locator("[data-testid=autosave-status]")).to_contain_text("trước khi gửi báo cáo")
    assert "Đang soạn" in page.inner_text("[data-testid=status]") and page.url == url  # nothing sent

    holding[0] = False
    held[0][0].fulfill(response=held[0][1])
    expect(page.locator("[data-testid=autosave-status]")).to_contain_text("Đã tự động lưu")  # the next one took "60"
    holding[0] = True
    cell(page, "BL_HH_03").fill("8")
    wait_held(2)
    page.click("[data-testid=submit-button]")  # held: "Gửi báo cáo này?" is asked when it goes
    page.wait_for_timeout(300)
    assert not page.locator(".alert-danger").count() and page.url == url
    with page.expect_navigation():
        held[1][0].fulfill(response=held[1][1])
    expect_flash(page, "đã niêm phong")
    assert not page.locator(".alert-danger").count()
    with live_app.app_context():  # what was sent (sealed) holds every figure typed
        sent = db.session.execute(select(SubmissionVersion).join(Submission).join(Agency, Agency.id == Submission.agency_id).where(
            Agency.code == "T01.SCT", Submission.period_key == "2027-M03", SubmissionVersion.status == "submitted")).scalar_one()
        assert {v.indicator: v.number for v in sent.values if v.indicator in ("BL_HH_01", "BL_HH_02", "BL_HH_03")} == {
            "BL_HH_01": 1500, "BL_HH_02": 60, "BL_HH_03": 8}
