"""Steps shared by the browser tests."""
from playwright.sync_api import expect

from app.services.seed import DEMO_PASSWORD


def login(page, base: str, username: str = "canbo.sct") -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    # click() returns once the next page starts loading: wait for it (and its stylesheet) to be there —
    # CI once measured an unstyled navbar, 471 px high, right after signing in
    page.wait_for_load_state("load")
    assert "/login" not in page.url, f"{username} could not log in"


def logout(page) -> None:
    page.click("[data-testid=whoami]")
    page.click("[data-testid=logout]")
    assert "/login" in page.url


def new_regime(page, code: str, name: str, *, frequency: str = "quarterly") -> None:
    """A designer starts a new regime (its draft: every Decree-09 element still missing)."""
    page.click("[data-testid=nav-designer]")
    new = page.locator("[data-testid=new-regime]")
    new.locator("input[name=code]").fill(code)
    new.locator("input[name=name_vi]").fill(name)
    new.locator("select[name=frequency]").select_option(frequency)
    new.locator("input[name=valid_from]").fill("2025-07-01")
    new.locator("button").click()


def fill_elements(page, *, legal_basis: str, content: str, tier_name: str, outline_title: str) -> None:
    """The draft's Decree-09 elements, one tier (Sở Công Thương → Bộ Công Thương, day 20) and one
    outline section: everything but its forms."""
    elements = page.locator("[data-testid=elements-form]")
    elements.locator("input[name=legal_basis]").fill(legal_basis)
    elements.locator("textarea[name=content]").fill(content)
    page.click("[data-testid=save-elements]")
    tier = page.locator("[data-testid=tier-0]")
    tier.locator("input[name=tier0_name]").fill(tier_name)
    tier.locator("input[name=tier0_levels][value=department]").check()
    tier.locator("input[name=tier0_kinds]").fill("SCT")
    tier.locator("input[name=tier0_receiver]").fill("BCT")
    tier.locator("input[name=tier0_day]").fill("20")
    page.click("[data-testid=save-tiers]")
    page.locator("[data-testid=outline-form] input[name=sec0_code]").fill("I")
    page.locator("[data-testid=outline-form] input[name=sec0_title]").fill(outline_title)
    page.click("[data-testid=save-outline]")


def expect_flash(page, text: str) -> None:
    """A flashed message (success or a late submission's warning) says `text` — waited for: a click
    returns once the next page starts loading, before its messages are there."""
    expect(page.locator(".alert").filter(has_text=text).first).to_be_visible()
