"""The embedded default (SQLite, one writer at a time): a background job holds the write lock only
while it writes. A job whose handler is busy before writing — an upload job reading a large
workbook, any handler waiting — leaves every clerk's save free to commit at once (CI saw a save
wait 6 s and answer 503 behind an upload job that held the lock while it read the file).
Own database file: the job runs in the local pool's thread, as in production."""
from __future__ import annotations

import os
import sqlite3
import threading
import time

import pytest

pytestmark = pytest.mark.skipif(os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                                reason="SQLite's single write lock (PostgreSQL locks rows)")


def _writer_commits_at_once(path) -> None:
    """Another connection takes the write lock and commits within half a second."""
    raw = sqlite3.connect(path, timeout=0.5, isolation_level=None)
    try:
        raw.execute("BEGIN IMMEDIATE")  # raises "database is locked" after 0.5 s if a job holds it
        raw.execute("COMMIT")
    finally:
        raw.close()


def _wait_done(job_id: int, seconds: float = 60) -> str:
    """Poll the job's row in transactions that only read (outside a request this thread's would
    otherwise take the write lock the job needs to finish)."""
    from app.extensions import db, reading_only
    from app.models import Job

    token = reading_only.set(True)
    try:
        deadline = time.time() + seconds
        while time.time() < deadline:
            job = db.session.get(Job, job_id)
            status, step, error = job.status, job.step, job.error
            db.session.rollback()
            if status in ("done", "failed"):
                return status
            time.sleep(0.1)
        return f"timeout: {status} {step} {error}"
    finally:
        reading_only.reset(token)


def test_jobs_hold_no_write_lock_while_they_read_or_wait(tmp_path, monkeypatch):
    from sqlalchemy import func, select

    from app import create_app
    from app.adapters import excel
    from app.extensions import db
    from app.models import SubmissionVersion, User
    from app.services import jobs, upload_jobs, uploads
    from tests.conftest import _test_config, prepare_database
    from tests.helpers import fill_template, retail_values

    path = tmp_path / "khoa.sqlite"
    app = create_app({**_test_config(f"sqlite:///{path}", tmp_path), "JOBS_INLINE": False})
    prepare_database(app)
    started, go = threading.Event(), threading.Event()

    def waiting(job, progress):  # a handler busy before it writes anything
        started.set()
        go.wait(30)
        return jobs.Result(b"xong", "xong.txt")

    monkeypatch.setitem(jobs.HANDLERS, "wait-test", waiting)
    with app.app_context():
        job = jobs.enqueue(kind="wait-test", args={})
        db.session.commit()
        assert started.wait(30)
        _writer_commits_at_once(path)
        go.set()
        assert _wait_done(job.id) == "done"

        # an upload job reading its workbook
        started.clear()
        go.clear()
        original = excel.read_workbook

        def slow_read(*args, **kwargs):
            started.set()
            go.wait(30)
            return original(*args, **kwargs)

        monkeypatch.setattr(excel, "read_workbook", slow_read)
        clerk = db.session.scalar(select(User).where(User.username == "canbo.sct"))
        where = {"regime_code": "BCT-BANLE", "agency_code": "T01.SCT", "period_key": "2026-M12"}
        template, _name = uploads.template(user=clerk, **where)
        job = upload_jobs.enqueue_upload(user=clerk, regime="BCT-BANLE", agency="T01.SCT", period="2026-M12",
                                         data=fill_template(template, retail_values()), file_name="lon.xlsx", revision=None)
        assert started.wait(30)
        _writer_commits_at_once(path)  # a clerk's save is not kept waiting by the file being read
        go.set()
        assert _wait_done(job.id) == "done"
        assert db.session.scalar(select(func.count()).select_from(SubmissionVersion)) == 1  # and the file was saved
        db.session.remove()
        db.engine.dispose()


def test_a_read_only_command_holds_no_write_lock_while_it_reads(tmp_path, monkeypatch):
    """`flask export pdf` reads for as long as the report is large; outside a request a transaction
    takes the write lock when it begins (writers must), so without `reads_only` every clerk's save
    waited for the command (noticed in session 7)."""
    from app import create_app
    from app.services import center
    from tests.conftest import _test_config, prepare_database

    path = tmp_path / "xuat.sqlite"
    app = create_app({**_test_config(f"sqlite:///{path}", tmp_path), "JOBS_INLINE": False})
    prepare_database(app)
    original, seen = center.view, []

    def reading(*args, **kwargs):  # the command is reading the report's figures
        view = original(*args, **kwargs)
        _writer_commits_at_once(path)
        seen.append(True)
        return view

    monkeypatch.setattr(center, "view", reading)
    out = tmp_path / "bao-cao.csv"
    result = app.test_cli_runner().invoke(args=["export", "pdf", "--regime", "BCT-BANLE", "--period", "2026-M12",
                                                "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert seen and out.read_bytes()
    with app.app_context():
        from app.extensions import db

        db.session.remove()
        db.engine.dispose()
