"""The scheduler is a real APScheduler process: started twice at once and restarted, it still
sends each reminder once. It runs on its own SQLite database and a real SMTP server."""
from __future__ import annotations

import os
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
    box, port = MailBox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "scheduler-test-secret-0123", "BAOCAO_INSTANCE": str(tmp_path),
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(port), "BAOCAO_CLOCK": CLOCK}
    env.pop("TEST_DATABASE_URL", None)
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
        assert jobs == {"reminders", "deliver-mail"}  # the job store persisted in the app database
        assert events == 34  # the 34 Departments of Industry and Trade, claimed once each however many processes ran
    finally:
        controller.stop()
