"""The scheduler is a real APScheduler process: started twice at once and restarted, it still
sends each reminder once. It runs on its own SQLite database and a real SMTP server."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from aiosmtpd.controller import Controller

from app import create_app
from tests.conftest import MailBox, _test_config, free_port, prepare_database

ROOT = Path(__file__).resolve().parents[2]
CLOCK = "2026-11-17T08:05:00+07:00"  # the deadline morning of BCT-BANLE 2026-M11 for the departments


def start(env):
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run", "--run-now"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop(*procs):
    out = []
    for p in procs:
        p.terminate()
        try:
            out.append(p.communicate(timeout=20)[0])
        except subprocess.TimeoutExpired:
            p.kill()
            out.append(p.communicate()[0])
    return "\n".join(out)


def mail_server_and_env(url: str, tmp_path: Path):
    """A real SMTP server on localhost and the environment of a scheduler process that uses it."""
    box, port = MailBox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "scheduler-test-secret-0123", "BAOCAO_INSTANCE": str(tmp_path),
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(port), "BAOCAO_CLOCK": CLOCK}
    env.pop("TEST_DATABASE_URL", None)
    return box, controller, env


def wait_for(predicate, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_two_processes_and_a_restart_send_each_reminder_once(tmp_path):
    db_file = tmp_path / "scheduler.sqlite"
    url = f"sqlite:///{db_file}"
    prepare_database(create_app(_test_config(url, tmp_path)))
    box, controller, env = mail_server_and_env(url, tmp_path)
    try:
        first, second = start(env), start(env)
        assert wait_for(lambda: len(box.messages) >= 1, 60), stop(first, second)
        time.sleep(3)  # give the second process every chance to send a duplicate
        output = stop(first, second)
        assert [rcpt for rcpt, _ in box.messages] == [["canbo.sct@baocao.local"]], output
        assert "(hạn hôm nay)" in box.messages[0][1]["Subject"]

        again = start(env)
        with sqlite3.connect(db_file) as conn:
            assert wait_for(lambda: conn.execute("select count(*) from mail_messages where status = 'sent'").fetchone()[0] == 1, 5)
        time.sleep(4)  # the restarted process has run its jobs once (--run-now)
        output = stop(again)
        assert len(box.messages) == 1, output
        with sqlite3.connect(db_file) as conn:
            jobs = {row[0] for row in conn.execute("select id from apscheduler_jobs")}
            events = conn.execute("select count(*) from reminder_events where kind = 'reminder' and step = 0").fetchone()[0]
            mail_jobs = dict(conn.execute("select status, count(*) from jobs where kind = 'mail' group by status").fetchall())
        assert jobs == {"reminders", "deliver-mail", "jobs-housekeeping"}  # the job store persisted in the app database
        assert events == 34  # the 34 Departments of Industry and Trade, claimed once each however many processes ran
        assert mail_jobs.get("done", 0) >= 1 and "failed" not in mail_jobs  # delivered by a "mail" job queued with the reminder
    finally:
        controller.stop()


def _killed_at(env, fault: str, marker: Path, hit: int = 1) -> None:
    """Start the scheduler so that it stops at `fault`, wait for it to get there, SIGKILL it."""
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run", "--run-now"], cwd=ROOT,
                            env={**env, "BAOCAO_FAULTPOINT": fault, "BAOCAO_FAULTPOINT_HIT": str(hit),
                                 "BAOCAO_FAULTPOINT_FILE": str(marker)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    assert wait_for(marker.exists, 90), f"the scheduler never reached {fault}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    marker.unlink()


def test_killed_mid_run_and_restarted_no_reminder_is_lost_or_sent_twice(tmp_path):
    db_file = tmp_path / "killed.sqlite"
    url = f"sqlite:///{db_file}"
    app = create_app(_test_config(url, tmp_path))
    prepare_database(app)
    with app.app_context():  # more recipients: reporters with mail in eight Departments of Industry and Trade
        from sqlalchemy import select

        from app.extensions import db
        from app.models import Agency
        from app.services.users import create_user

        codes = db.session.scalars(select(Agency.code).where(Agency.code.like("T%.SCT"), Agency.code != "T01.SCT")
                                   .order_by(Agency.code).limit(8)).all()
        for i, code in enumerate(codes):
            create_user(username=f"canbo.{i}", password="mot-cum-tu-de-nho", full_name=f"Cán bộ {code}", role="reporter",
                        agency_code=code, email=f"canbo.{i}@baocao.local")
        db.session.remove()
        db.engine.dispose()
    box, controller, env = mail_server_and_env(url, tmp_path)
    marker = tmp_path / "fault"

    def ledger():
        with sqlite3.connect(db_file) as conn:
            events = conn.execute("select count(*) from reminder_events").fetchone()[0]
            mail = dict(conn.execute("select status, count(*) from mail_messages group by status").fetchall())
        return events, mail

    try:
        # 1. killed after claiming the reminders and queueing their mail, before the commit: nothing happened
        _killed_at(env, "reminders.before_commit", marker)
        assert ledger() == (0, {}) and box.messages == []
        # 2. restarted, killed after the third message was delivered and marked sent
        _killed_at(env, "deliver.marked", marker, hit=3)
        events, mail = ledger()
        assert len(box.messages) == 3 and mail["sent"] == 3 and mail["sending"] == 6 and events == 34
        # 3. restarted ten minutes later (the dead process's lease has run out): the rest, once
        later = {**env, "BAOCAO_CLOCK": "2026-11-17T08:16:00+07:00"}
        proc = start(later)
        assert wait_for(lambda: ledger()[1] == {"sent": 9}, 60), stop(proc)
        time.sleep(2)
        stop(proc)
    finally:
        controller.stop()
    recipients = sorted(r for rcpt, _ in box.messages for r in rcpt)
    assert recipients == sorted(["canbo.sct@baocao.local"] + [f"canbo.{i}@baocao.local" for i in range(8)])
    assert len({m["Message-ID"] for _, m in box.messages}) == 9
