"""A live baocao on its own SQLite database, served in a thread, driven by the system Chromium."""
from __future__ import annotations

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from app import create_app
from tests.conftest import _test_config, prepare_database

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("e2e")
    app = create_app({**_test_config(f"sqlite:///{instance / 'e2e.sqlite'}", instance), "WTF_CSRF_ENABLED": True, "AUTOSAVE_SECONDS": 1,
                      "JOBS_INLINE": False})  # jobs run as in the embedded default: a pool of threads after the commit
    prepare_database(app)
    return app


@pytest.fixture(scope="session")
def live_server(live_app):
    app = live_app
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        if os.environ.get("BAOCAO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is required for browser tests (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    page = context.new_page()
    page.set_default_timeout(15000)
    page.on("dialog", lambda dialog: dialog.accept())  # "Gửi báo cáo?", "Công bố?": the user says yes (test_everyday.py says no)
    yield page
    context.close()
