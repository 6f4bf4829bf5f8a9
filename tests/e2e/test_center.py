"""An analyst of the Government's reporting center in a real headless Chromium: the national
view, drill-down to a commune and back, history in today's units, completeness."""
import re
from decimal import Decimal

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services import history
from tests.e2e.pages import login
from tests.integration.test_center import HISTORY, tthc

NOW = {"T01.SNV": tthc(40, 10, 5, 30, 5, 8, 2), "X00070": tthc(20, 5, 2, 18, 3, 1, 1), "X00004": tthc(12, 8, 4, 10, 4, 2, 0)}



def cell(page, indicator):
    return page.inner_text(f"[data-testid=value-{indicator}]").strip()


def test_analyst_drills_down_switches_units_and_checks_completeness(page, live_server, live_app):
    with live_app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "quantri"))
        history.load_reports(actor=admin, regime_code="VPCP-TTHC", period_key="2025-Q1", reports=HISTORY)
        history.load_reports(actor=admin, regime_code="VPCP-TTHC", period_key="2025-Q3", reports=NOW)
    login(page, live_server, "phantich.vpcp")
    page.click("[data-testid=nav-center]")
    page.goto(f"{live_server}/center/VPCP-TTHC/2025-Q3")
    # received = online + direct + carried: 50 + 25 + 20 = 95; on-time rate (5+30+2+18+4+10)/(40+23+18) = 85,2 %
    assert cell(page, "TTHC_NHAN_TONG") == "95"
    assert cell(page, "TTHC_TYLE_DUNGHAN") == "85,2"
    assert "Số liệu từ 3 trên" in page.inner_text("[data-testid=coverage]")
    page.click("[data-testid=child-T01] a")
    assert "Thành phố Hà Nội" in page.inner_text("[data-testid=center-title]")
    assert cell(page, "TTHC_NHAN_TONG") == "95"
    page.click("[data-testid=child-X00070] a")
    assert "Phường Hoàn Kiếm" in page.inner_text("[data-testid=center-title]")
    assert cell(page, "TTHC_NHAN_TONG") == "25" and cell(page, "TTHC_TYLE_DUNGHAN") == "87,0"  # (2 + 18) / 23
    page.click("[data-testid=breadcrumb] >> text=Toàn quốc")
    assert "Toàn quốc" in page.inner_text("[data-testid=center-title]") and cell(page, "TTHC_NHAN_TONG") == "95"
    expect(page.locator("[data-testid=trend-chart]")).to_have_count(1)

    page.goto(f"{live_server}/center/VPCP-TTHC/2025-Q1")
    expect(page.locator("[data-testid=child-T10-63]")).to_have_count(1)  # the provinces of that time
    page.click("[data-testid=units-current]")
    children = page.inner_text("[data-testid=children]")
    expect(page.locator("[data-testid=child-T10-63]")).to_have_count(0)
    lao_cai = page.inner_text("[data-testid=child-T15]")
    assert "Lào Cai" in lao_cai and re.search(r"\b150\b", lao_cai)  # old Lào Cai 100 + old Yên Bái 50
    assert "Hà Nội" in children and cell(page, "TTHC_NHAN_TONG") == "750"

    page.click("[data-testid=completeness-link]")
    page.locator("[data-testid^=rate-]").first.wait_for()
    rates = [Decimal(t.replace(",", ".").replace("%", "").strip() or "0")
             for t in page.locator("[data-testid^=rate-]").all_inner_texts()]
    assert rates and all(r <= 100 for r in rates)
