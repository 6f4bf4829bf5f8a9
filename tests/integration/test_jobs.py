"""Background jobs (app/services/jobs.py) on the database under test: one job per (kind, inputs),
progress and result for whoever asked, failures retried with back-off then shown with the reason,
a job left by a dead worker taken up once, the admin page and the CLI."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Job, User
from app.models.base import utcnow
from app.services import jobs
from app.services.errors import Forbidden


def user(name):
    return db.session.scalar(select(User).where(User.username == name))


def test_identical_requests_share_one_job_and_the_result_is_kept(app):
    a = jobs.enqueue(kind="probe", args={"seconds": 0}, user=user("phantich.vpcp"))
    b = jobs.enqueue(kind="probe", args={"seconds": 0}, user=user("phantich.vpcp"))
    assert a.id == b.id and a.status == "done" and a.attempts == 1
    data, name = jobs.result(user=user("phantich.vpcp"), job_id=a.id)
    assert data == f"probe {a.id}".encode() and name.endswith(".txt")
    with __import__("pytest").raises(Forbidden):
        jobs.get(user=user("canbo.sct"), job_id=a.id)
    assert jobs.get(user=user("quantri"), job_id=a.id).id == a.id  # the administrator sees every job


def test_a_failing_job_is_retried_with_back_off_then_stopped_with_the_reason(app, monkeypatch):
    calls = []

    def flaky(job, progress):
        calls.append(job.attempts)
        raise RuntimeError("máy chủ SMTP không trả lời")

    monkeypatch.setitem(jobs.HANDLERS, "flaky", flaky)
    job = jobs.enqueue(kind="flaky", args={}, max_attempts=3)
    assert job.status == "queued" and job.attempts == 1 and job.run_after > utcnow()  # waits before the next try
    assert "máy chủ SMTP" in job.error and "Thử lại sau 5 giây" in job.step
    assert jobs.run(job.id) == "queued" and calls == [1]  # not before its time
    for _ in range(2):
        db.session.get(Job, job.id).run_after = utcnow() - timedelta(seconds=1)
        jobs.run(job.id)
    job = db.session.get(Job, job.id)
    assert job.status == "failed" and job.attempts == 3 and calls == [1, 2, 3] and "SMTP" in job.error
    again = jobs.retry(job_id=job.id)  # an administrator sends it round again
    assert again.attempts == 1 and again.status == "queued"


def test_a_job_left_running_by_a_dead_worker_is_taken_up_once(app):
    job = jobs.enqueue(kind="probe", args={"seconds": 0, "n": 1})
    job.status, job.heartbeat_at, job.attempts = "running", utcnow() - timedelta(seconds=app.config["JOB_STALE_SECONDS"] + 1), 1
    db.session.commit()
    assert jobs.run(job.id, worker="b:2") == "done"
    assert db.session.get(Job, job.id).attempts == 2
    busy = jobs.enqueue(kind="probe", args={"seconds": 0, "n": 2})
    busy.status, busy.heartbeat_at = "running", utcnow()  # alive: nobody else takes it
    db.session.commit()
    assert jobs.run(busy.id, worker="c:3") == "running" and db.session.get(Job, busy.id).worker != "c:3"


def test_the_admin_page_and_the_cli(app, client, auth, runner):
    job = jobs.enqueue(kind="probe", args={"seconds": 0, "fail": True}, max_attempts=1)
    assert job.status == "failed"
    auth.login("quantri")
    page = client.get("/admin/jobs?status=failed").get_data(as_text=True)
    assert f'data-testid="job-{job.id}"' in page and "Thử lỗi theo yêu cầu" in page and "Lỗi, đã dừng" in page
    assert client.post("/admin/jobs", data={"job": str(job.id)}).status_code == 302
    assert db.session.get(Job, job.id).attempts == 1  # run again (inline here), failed again: the reason kept
    out = runner.invoke(args=["jobs", "list", "--status", "failed"])
    assert out.exit_code == 0 and f"{job.id:>6} probe" in out.output
    assert runner.invoke(args=["jobs", "retry", "999999"]).exit_code == 1
    assert runner.invoke(args=["jobs", "worker"]).exit_code != 0 if db.engine.dialect.name == "sqlite" else True
    auth.logout()
    auth.login("phantich.vpcp")
    assert client.get("/admin/jobs").status_code in (302, 403)


def test_files_kept_for_import_jobs_and_rendered_reports_are_removed_after_the_retention(app):
    import os
    import time
    from pathlib import Path

    from app.services import jobs

    exports = Path(app.config["INSTANCE_DIR"]) / "exports"
    olds, news = [], []
    for folder in (jobs.storage_dir() / "inputs", exports, exports / "parts"):
        folder.mkdir(parents=True, exist_ok=True)
        suffix = ".bin" if folder.name == "inputs" else ".pdf"
        old, new = folder / f"old-prune-test{suffix}", folder / f"new-prune-test{suffix}"
        old.write_bytes(b"x")
        new.write_bytes(b"y")
        past = time.time() - 8 * 86400
        os.utime(old, (past, past))
        olds.append(old)
        news.append(new)
    jobs.prune(days=7)
    assert not any(p.exists() for p in olds) and all(p.exists() for p in news)


def test_a_users_unfinished_jobs_are_bounded(app, monkeypatch):
    """Each file a user sends is kept and read by a job: at most JOBS_PER_USER of theirs wait or run
    at once; the next is refused with a "try later" (503), someone else's still goes in."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import User
    from app.services import jobs
    from app.services.errors import Busy

    monkeypatch.setattr(jobs, "_dispatch", lambda job, delay=0: None)  # nobody takes them: they stay queued
    monkeypatch.setitem(app.config, "JOBS_PER_USER", 3)
    clerk = db.session.scalar(select(User).where(User.username == "canbo.sct"))
    other = db.session.scalar(select(User).where(User.username == "phantich.vpcp"))
    made = [jobs.enqueue(kind="probe", args={"seconds": 0, "n": i}, user=clerk) for i in range(3)]
    assert jobs.enqueue(kind="probe", args={"seconds": 0, "n": 0}, user=clerk).id == made[0].id  # the same request: its job
    with pytest.raises(Busy):
        jobs.enqueue(kind="probe", args={"seconds": 0, "n": 3}, user=clerk)
    assert jobs.enqueue(kind="probe", args={"seconds": 0, "n": 3}, user=other).status == "queued"
    # a new file of theirs is refused before it is kept (it was written, then refused); one already kept is shared
    inputs = jobs.storage_dir() / "inputs"
    before = set(inputs.glob("*.bin")) if inputs.exists() else set()
    with pytest.raises(Busy):
        jobs.keep_input(b"a new file, never kept " + str(len(before)).encode(), user=clerk)
    assert (set(inputs.glob("*.bin")) if inputs.exists() else set()) == before
    kept = jobs.keep_input(b"kept for someone else", user=other)
    assert jobs.keep_input(b"kept for someone else", user=clerk) == kept
