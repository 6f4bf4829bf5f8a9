"""WCAG 2.1 AA on every page, as each role sees it, at a desktop's 1366×768 and a phone's 390×844,
in a real headless Chromium: axe-core (axe-playwright-python) finds no serious or critical
violation, and at 390 px no page is wider than the screen (nothing scrolls sideways; a wide table
scrolls inside its own box). Screenshots of the main pages go to docs/screenshots/ when
BAOCAO_SCREENSHOTS=1."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.e2e.pages import login
from tests.helpers import retail_values

DESKTOP, PHONE = {"width": 1366, "height": 768}, {"width": 390, "height": 844}
PERIOD = "2027-M11"  # a month no other browser test touches
COMMON = ["/", "/regimes", "/regimes/BCT-BANLE", "/indicators", "/indicators/BL_HH", "/agencies", "/agencies/T01.SCT",
          "/requests", "/notifications", "/profile", "/pki/verify", "/pki/signatures", "/help", "/help/reporter",
          "/help/glossary", "/help/rules"]
PAGES = {
    "canbo.sct": ["/", "/reports", f"/reports/BCT-BANLE/T01.SCT/{PERIOD}", "/submissions/{sid}", "/help/reporter"],
    "pheduyet.hn": ["/", "/reports", "/inbox", "/submissions/{sid}", "/center/BCT-BANLE/2026-M12?unit=T01"],
    "thietke.bct": ["/", "/designer", "/designer/BCT-BANLE", "/designer/BCT-BANLE/forms/BIEU01", "/designer/BCT-BANLE/preview", "/designer/BCT-BANLE/import-form",
                    "/designer/BCT-BANLE/versions", "/requests/new"],
    "phantich.vpcp": ["/", "/center/BCT-BANLE/2026-M12", "/center/BCT-BANLE/2026-M12/completeness",
                      "/center/BCT-BANLE/2026-M12/tiers", "/center/BCT-BANLE/2026-M10/quality", "/center/follow-ups",
                      "/center/kpis", "/center/BCT-BANLE/2026-M10/multiples?indicator=BL_TONG"],
    "quantri": ["/", "/admin/users", "/admin/certificates", "/admin/reminders", "/admin/audit"] + COMMON,
}
SHOTS = {("canbo.sct", "/"): "home-reporter", ("canbo.sct", f"/reports/BCT-BANLE/T01.SCT/{PERIOD}"): "report-form",
         ("pheduyet.hn", "/inbox"): "inbox", ("phantich.vpcp", "/center/BCT-BANLE/2026-M12"): "center",
         ("thietke.bct", "/designer/BCT-BANLE"): "designer",
         ("phantich.vpcp", "/center/BCT-BANLE/2026-M10/quality"): "quality", ("phantich.vpcp", "/center/kpis"): "kpis", ("pheduyet.hn", "/submissions/{sid}"): "submission"}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def sent(live_app):
    """One submitted report of Sở Công Thương Hà Nội, for the submission and inbox pages."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import User
    from app.services import sending, submissions

    with live_app.app_context():
        reporter = db.session.scalar(select(User).where(User.username == "canbo.sct"))
        report = submissions.open_report(user=reporter, regime_code="BCT-BANLE", agency_code="T01.SCT", period_key="2027-M10",
                                         for_write=True)
        saved = submissions.save(user=reporter, report=report, raw={(k, ""): (str(v), False, "") for k, v in retail_values().items()},
                                 outline={"I": "Sức mua ổn định."}, revision=None)
        sending.submit(user=reporter, submission_id=saved.submission.id)
        # the reporting center with something to look closer at: a year of retail reports with slips,
        # one followed up, two indicators on the analyst's KPI page
        from app.services import center_kpi, quality
        from tests.integration.test_data_quality import CHECKED, load_retail_history

        seeded = load_retail_history(db.session.scalar(select(User).where(User.username == "quantri")))
        analyst = db.session.scalar(select(User).where(User.username == "phantich.vpcp"))
        agency, indicator = next(c for c in seeded if c[0] != "T01.SCT")  # Hà Nội's is the browser test's (test_center_v2)
        quality.follow(user=analyst, regime="BCT-BANLE", period=CHECKED, agency=agency, indicator=indicator, comment="Xem lại")
        for ind in ("BL_TONG", "BL_LT"):
            center_kpi.add(user=analyst, regime="BCT-BANLE", indicator=ind)
        return saved.submission.id


def _problems(page, axe: Axe, size: dict) -> list[str]:
    out = []
    result = axe.run(page)
    for v in result.response["violations"]:
        if v.get("impact") in ("serious", "critical"):
            nodes = "; ".join(n["target"][0] if isinstance(n["target"][0], str) else str(n["target"][0]) for n in v["nodes"][:3])
            out.append(f"{v['impact']} {v['id']}: {v['help']} — {nodes}")
    if size["width"] <= 400:
        wide = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        if wide[0] > wide[1] + 1:
            culprits = page.evaluate("""() => Array.from(document.querySelectorAll('body *')).filter(e => {
                const r = e.getBoundingClientRect(); return r.right > window.innerWidth + 1 && !e.closest('.table-responsive, .dropdown-menu');
              }).slice(0, 4).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).slice(0, 2).join('.') : ''))""")
            out.append(f"wider than the screen: {wide[0]} px > {wide[1]} px ({', '.join(culprits)})")
    return out


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1366", "390"])
@pytest.mark.parametrize("username", list(PAGES))
def test_every_page_is_accessible_and_fits_the_screen(browser, live_server, sent, username, size):
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", viewport=size)
    page = context.new_page()
    page.set_default_timeout(15000)
    axe = Axe()
    report = {}
    if username == "quantri":  # the login page, as anyone meets it first
        page.goto(f"{live_server}/login")
        report.update({"/login": p} if (p := _problems(page, axe, size)) else {})
    login(page, live_server, username)
    for url in PAGES[username]:
        page.goto(live_server + url.format(sid=sent))
        problems = _problems(page, axe, size)
        if problems:
            report[url] = problems
        shot = SHOTS.get((username, url))
        if shot and os.environ.get("BAOCAO_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{shot}-{size['width']}.png"), full_page=size["width"] > 400)
    context.close()
    assert not report, "\n".join(f"{url}:\n  " + "\n  ".join(p) for url, p in report.items())


def test_on_a_phone_each_indicator_is_a_card_with_its_value_field_in_view(browser, live_server):
    context = browser.new_context(locale="vi-VN", viewport=PHONE)
    page = context.new_page()
    login(page, live_server, "canbo.sct")
    page.goto(f"{live_server}/reports/BCT-BANLE/T01.SCT/{PERIOD}")
    field = page.locator("input[data-cell='BL_HH_01|']")
    field.scroll_into_view_if_needed()
    box = field.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] and box["width"] >= 250  # wide, fully on screen
    row = page.locator("tr[data-row='BL_HH_01']")
    assert row.evaluate("e => getComputedStyle(e).display") == "block"  # a card, not a table row
    said = field.evaluate("e => getComputedStyle(e.closest('td'), '::before').content")
    assert "Thực hiện kỳ này" in said  # each field says what it is
    field.fill("1.234")
    page.click("[data-testid=save-button]")
    assert page.locator("input[data-cell='BL_HH_01|']").input_value() == "1.234"
    context.close()


@pytest.mark.parametrize("username", list(PAGES))
def test_the_desktop_navbar_holds_on_one_line(browser, live_server, username):
    context = browser.new_context(locale="vi-VN", viewport=DESKTOP)
    page = context.new_page()
    login(page, live_server, username)
    height = page.locator("nav.navbar").bounding_box()["height"]
    assert height < 70, f"the navbar wraps at 1366 px for {username}: {height:.0f} px high"
    context.close()
