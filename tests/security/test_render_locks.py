"""Review finding 10: a PDF rendered off the request takes no write lock on the embedded default
(SQLite), so other users keep working while it renders; renders are bounded per process — more
than the bound wait in the database (durable jobs) and are taken up by the scheduler's housekeeping.
On PostgreSQL the jobs go to procrastinate's workers; here the test runs them as a worker would."""
from __future__ import annotations

import os
import sqlite3
import threading
import time

import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import User
from app.services import export_jobs
from tests.conftest import _test_config, prepare_database
from tests.helpers import own_database


@pytest.fixture(scope="module")
def own_app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("renders")
    url = own_database(tmp, "baocao_renders")
    app = create_app(_test_config(url, tmp) | {"EXPORT_RENDER_THREADS": 1, "EXPORT_RENDER_QUEUE": 1, "JOBS_INLINE": False,
                                               "JOB_STALE_SECONDS": 2})
    prepare_database(app)
    yield app, url
    with app.app_context():
        db.engine.dispose()


def _wait(app, user, job: str) -> dict:
    for _ in range(300):
        with app.app_context():
            state = export_jobs.job_status(user=db.session.get(User, user), job=job)
        if state["state"] != "running":
            return state
        time.sleep(0.1)
    raise AssertionError("the render never finished")


def test_a_render_holds_no_write_lock_and_renders_are_bounded(own_app, monkeypatch):
    app, url = own_app
    from weasyprint import HTML

    original = HTML.write_pdf
    seen = {"writes": [], "running": 0, "max": 0}
    gate = threading.Event()
    lock = threading.Lock()

    def render(self, *args, **kwargs):
        with lock:
            seen["running"] += 1
            seen["max"] = max(seen["max"], seen["running"])
        try:
            if url.startswith("sqlite"):  # another user writes while this renders: must not wait for it
                other = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0.5, isolation_level=None)
                try:
                    other.execute("BEGIN IMMEDIATE")
                    other.execute("ROLLBACK")
                    seen["writes"].append("ok")
                except sqlite3.OperationalError as exc:
                    seen["writes"].append(str(exc))
                finally:
                    other.close()
            gate.wait(10)
            return original(self, *args, **kwargs)
        finally:
            with lock:
                seen["running"] -= 1

    monkeypatch.setattr(HTML, "write_pdf", render)
    from app.services import jobs as jobs_svc

    with app.test_request_context("/center/BCT-BANLE/2026-M10/export.pdf"):
        analyst = db.session.scalar(select(User).where(User.username == "phantich.vpcp"))
        uid = analyst.id
        started = [export_jobs.start_pdf(user=analyst, regime="BCT-BANLE", period="2026-M10", agency=a, units=u)["job"]
                   for a, u in (("CP", "as_reported"), ("CP", "current"), ("T01", "as_reported"))]  # 1 renders, 1 waits, 1 beyond the bound
    time.sleep(0.5)
    gate.set()
    if url.startswith("sqlite"):
        states = [_wait(app, uid, job) for job in started[:2]]
        time.sleep(2.5)  # the third waited in the database; the scheduler's housekeeping takes it up
        with app.app_context():
            assert jobs_svc.resume_stale() == 1
        states.append(_wait(app, uid, started[2]))
    else:
        with app.app_context():
            for job in started:  # what `flask jobs worker` does with each
                jobs_svc.run(job)
        states = [_wait(app, uid, job) for job in started]
    assert [s["state"] for s in states] == ["done", "done", "done"], states
    assert seen["max"] == 1
    if url.startswith("sqlite"):
        assert len(seen["writes"]) >= 3 and set(seen["writes"]) == {"ok"}  # every part of every render (exports.parts)
    if os.environ.get("TEST_DATABASE_URL"):
        assert not url.startswith("sqlite")
