"""Durable jobs across processes, on PostgreSQL: two `flask jobs worker` processes (procrastinate)
on their own database; a job enqueued by another process is taken by one of them; that worker is
SIGKILLed mid-job and the job completes on the other — done exactly once (its log has one line), its
row done, two attempts; then queued mail is delivered by a "mail" job on the survivor, each message
once. Skipped on SQLite (there the web process runs jobs itself)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

URL = os.environ.get("TEST_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(not URL.startswith("postgresql"), reason="the job workers run on PostgreSQL")
ROOT = Path(__file__).resolve().parents[2]


def flask(env, *args, **kw):
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, **kw)


def test_a_worker_killed_mid_job_the_job_completes_on_the_other_once(database, tmp_path):
    import psycopg
    from aiosmtpd.controller import Controller
    from sqlalchemy.engine import make_url

    from tests.conftest import MailBox, free_port

    box, port = MailBox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    env = {**os.environ, "DATABASE_URL": database, "JOB_STALE_SECONDS": "3", "JOB_STORAGE_DIR": str(tmp_path / "jobs"),
           "BAOCAO_INSTANCE": str(tmp_path), "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(port), "MAIL_CONNECTIONS": "3"}
    env.pop("TEST_DATABASE_URL", None)
    up = flask(env, "db", "upgrade", "-d", "app/migrations")
    assert up.returncode == 0, up.stderr[-2000:]
    workers = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi.py", "jobs", "worker", "--stalled-after", "3",
                                 "--heartbeat", "1"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for _ in range(2)]
    log = tmp_path / "done.log"
    conn = psycopg.connect(make_url(database).set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True)
    try:
        out = flask(env, "jobs", "probe", "--seconds", "6", "--log", str(log))
        assert out.returncode == 0, out.stderr[-2000:]
        job_id = int(out.stdout.strip().splitlines()[-1])
        deadline, holder = time.time() + 60, ""
        while time.time() < deadline and not holder:
            status, holder = conn.execute("SELECT status, worker FROM jobs WHERE id = %s", (job_id,)).fetchone()
            holder = holder if status == "running" else ""
            time.sleep(0.2)
        assert holder, "no worker took the job"
        pid = int(holder.rsplit(":", 1)[1])
        assert pid in [w.pid for w in workers]
        time.sleep(1)
        os.kill(pid, signal.SIGKILL)  # mid-job
        deadline = time.time() + 90
        row = None
        while time.time() < deadline:
            row = conn.execute("SELECT status, attempts, worker FROM jobs WHERE id = %s", (job_id,)).fetchone()
            if row[0] in ("done", "failed"):
                break
            time.sleep(0.5)
        assert row[0] == "done", row
        assert row[1] == 2 and int(row[2].rsplit(":", 1)[1]) != pid  # the other worker, second attempt
        assert log.read_text(encoding="utf-8").split().count(str(job_id)) == 1  # done once
        # and more work goes on through the survivor, each job once
        ids = [int(x) for x in flask(env, "jobs", "probe", "--seconds", "0", "--log", str(log), "--count", "5").stdout.strip().splitlines()[-5:]]
        deadline = time.time() + 60
        while time.time() < deadline:
            done = conn.execute("SELECT count(*) FROM jobs WHERE id = ANY(%s) AND status = 'done'", (ids,)).fetchone()[0]
            if done == len(ids):
                break
            time.sleep(0.3)
        lines = [line.split()[0] for line in log.read_text(encoding="utf-8").splitlines()]
        assert sorted(int(x) for x in lines) == sorted([job_id, *ids])  # nothing lost, nothing twice
        # mail: queued with its job in one transaction, delivered by the survivor
        mail_job = _queue_mail(database, tmp_path, 120)
        deadline = time.time() + 60
        while time.time() < deadline and conn.execute("SELECT status FROM jobs WHERE id = %s", (mail_job,)).fetchone()[0] != "done":
            time.sleep(0.3)
        sent = conn.execute("SELECT count(*) FROM mail_messages WHERE status = 'sent'").fetchone()[0]
        ids_seen = [m["Message-ID"] for _rcpt, m in box.messages]
        assert sent == 120 and len(ids_seen) == 120 and len(set(ids_seen)) == 120  # each once
        assert "Đã gửi 120 thư" in conn.execute("SELECT step FROM jobs WHERE id = %s", (mail_job,)).fetchone()[0]
        # jobs done leave procrastinate's table (our `jobs` rows are the record)
        assert conn.execute("SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'").fetchone()[0] == 0
    finally:
        controller.stop()
        conn.close()
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(timeout=15)
            except subprocess.TimeoutExpired:
                w.kill()


def _queue_mail(database: str, tmp_path, count: int) -> int:
    """Messages queued as the reminders queue them, and with them their "mail" job; its id."""
    from sqlalchemy import insert

    from app import create_app
    from app.extensions import db
    from app.models import MailMessage, ReminderEvent
    from app.models.base import utcnow
    from app.services import mail_delivery

    app = create_app({"SQLALCHEMY_DATABASE_URI": database, "INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "mail-job-test-0123456789ab"})
    with app.app_context():
        event = ReminderEvent(kind="reminder", regime_code="X", period_key="2026-M11", agency_code="A", step=0)
        db.session.add(event)
        db.session.flush()
        now = utcnow()
        db.session.execute(insert(MailMessage), [
            {"event_id": event.id, "to_address": f"canbo.{i}@xa.baocao.local", "subject": f"Nhắc hạn {i}", "body_text": "Hạn nộp",
             "body_html": "<p>Hạn nộp</p>", "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
            for i in range(count)])
        job = mail_delivery.wake()
        assert mail_delivery.wake() is None  # one queued mail job is enough
        db.session.commit()
        job_id = job.id
        db.session.remove()
        db.engine.dispose()
    return job_id
