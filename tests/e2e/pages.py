"""Steps shared by the browser tests."""
from app.services.seed import DEMO_PASSWORD


def login(page, base: str, username: str = "canbo.sct") -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    assert "/login" not in page.url, f"{username} could not log in"


def logout(page) -> None:
    page.click("[data-testid=whoami]")
    page.click("[data-testid=logout]")
    assert "/login" in page.url
