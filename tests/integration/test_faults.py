"""Crashes, as a power cut or the OOM killer makes them: the app server (gunicorn) is killed with
SIGKILL in the middle of an upload, a submit and an approval (whose transaction also updates the
reporting center's aggregates), and `flask aggregate rebuild` in the middle of its work. Each time
the database holds the whole change or none of it, the aggregates equal a rebuild from the raw
values, and after a restart the same action succeeds.

The process stops at a named fault point (app/faults.py) just before its commit, so "the middle"
is exactly the worst moment, not a race. Runs on its own database: a SQLite file, or a database
of its own on the PostgreSQL server of TEST_DATABASE_URL.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from app import create_app
from app.extensions import db
from app.services import aggregation_rebuild
from app.services.seed import DEMO_PASSWORD
from tests.conftest import _test_config, free_port, prepare_database
from tests.helpers import fill_template, own_database, retail_values

ROOT = Path(__file__).resolve().parents[2]
REPORT = "/reports/BCT-BANLE/T01.SCT/2026-M12"
TABLES = ["submissions", "submission_versions", "submission_values", "submission_events", "record_versions",
          "aggregates"]


class Server:
    """gunicorn with the app factory's `wsgi:app`, as in production; optionally stopping at a fault point."""

    def __init__(self, url: str, tmp_path: Path, fault: str | None = None, workers: int = 1):
        self.port = free_port()
        self.marker = tmp_path / f"fault-{self.port}"
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "fault-test-secret-0123456789", "BAOCAO_ENV": "production",
               "SESSION_COOKIE_SECURE": "false", "BAOCAO_INSTANCE": str(tmp_path)}
        env.pop("TEST_DATABASE_URL", None)
        if fault:
            env.update(BAOCAO_FAULTPOINT=fault, BAOCAO_FAULTPOINT_FILE=str(self.marker))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", "4", "-b", f"127.0.0.1:{self.port}", "--timeout", "300",
             "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or still booting its worker
                time.sleep(0.2)
        self.kill()
        raise AssertionError("gunicorn did not start: " + self.proc.stdout.read().decode(errors="replace")[-2000:])

    def session(self, username: str) -> requests.Session:
        s = requests.Session()
        page = s.get(self.base + "/login")
        s.post(self.base + "/login", data={"csrf_token": csrf(page.text), "username": username, "password": DEMO_PASSWORD})
        return s

    def kill(self) -> None:
        """SIGKILL the master and its worker: no shutdown handler, no rollback, no flush."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)

    def stop_at_fault(self, request) -> None:
        """Send the request in the background, wait until the worker sits at the fault point, kill."""
        errors = []
        thread = threading.Thread(target=lambda: _swallow(request, errors), daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not self.marker.exists():
            assert time.monotonic() < deadline, "the fault point was never reached"
            time.sleep(0.05)
        self.kill()
        thread.join(timeout=30)
        assert errors, "the request should have been cut off by the crash"


def _swallow(request, errors):
    try:
        request()
    except requests.RequestException as exc:
        errors.append(exc)


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        out = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}
        out["status"] = conn.execute(text("SELECT status FROM submissions")).scalars().all()
        out["audited writes"] = conn.execute(text(  # logins are audited too; count the data changes
            "SELECT count(*) FROM audit_log WHERE action IN ('insert', 'update', 'delete')")).scalar()
    engine.dispose()
    return out


def aggregates_equal_a_rebuild(app) -> bool:
    """The maintained aggregates and record versions are exactly what a rebuild from raw values gives."""
    query = text("SELECT regime_id, period_key, tier, basis, unit_code, indicator, dkey, n, total, minimum, maximum, latest "
                 "FROM aggregates ORDER BY 1, 2, 3, 4, 5, 6, 7")
    records = text("SELECT regime_id, period_key, basis, tier, agency_code, province_code, version_id FROM record_versions "
                   "ORDER BY 1, 2, 3, 4, 5")
    def rows():
        return ([tuple(_same(v) for v in r) for r in db.session.execute(query)], [tuple(r) for r in db.session.execute(records)])

    with app.app_context():
        before = rows()
        aggregation_rebuild.rebuild()
        after = rows()
        db.session.remove()
    return before == after


def _same(value):
    """Numbers compared as exact decimals to 6 places: on SQLite the rebuild's SQL sum() writes "378.0"
    where the incremental path writes "378" (SQLite has no decimal type; PostgreSQL's NUMERIC does)."""
    try:
        return Decimal(str(value)).quantize(Decimal("0.000001"))
    except (InvalidOperation, ValueError):
        return value


@pytest.fixture(scope="module")
def crash_db(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("faults")
    url = own_database(tmp, "baocao_faults")
    app = create_app(_test_config(url, tmp))
    prepare_database(app)
    yield url, app, tmp
    with app.app_context():
        db.engine.dispose()


def test_sigkill_mid_upload_submit_and_approval_leaves_all_or_nothing(crash_db):
    url, app, tmp = crash_db
    start = counts(url)

    # 1. upload: killed after the 250-cell version and its values were written, before the commit
    server = Server(url, tmp, fault="save.excel.before_commit")
    clerk = server.session("canbo.sct")
    workbook = fill_template(clerk.get(server.base + REPORT + "/template.xlsx").content, retail_values())
    token = csrf(clerk.get(server.base + REPORT).text)
    server.stop_at_fault(lambda: clerk.post(server.base + REPORT + "/upload", data={"csrf_token": token},
                                            files={"file": ("bieu.xlsx", workbook)}, timeout=120))
    assert counts(url) == start  # nothing of the upload, not even its audit entry
    server = Server(url, tmp)  # restarted: the same upload goes through
    clerk = server.session("canbo.sct")
    token = csrf(clerk.get(server.base + REPORT).text)
    done = clerk.post(server.base + REPORT + "/upload", data={"csrf_token": token}, files={"file": ("bieu.xlsx", workbook)})
    assert done.status_code == 200 and counts(url)["status"] == ["draft"]
    server.kill()
    uploaded = counts(url)
    assert uploaded["submission_versions"] == 1 and uploaded["submission_values"] > 0

    # 2. submit: killed after status, seal and the reporting center's partials were written
    server = Server(url, tmp, fault="submit.before_commit")
    clerk = server.session("canbo.sct")
    sid = int(re.search(r"/submissions/(\d+)", clerk.get(server.base + REPORT).text).group(1))
    page = clerk.get(server.base + f"/submissions/{sid}").text
    submit = lambda: clerk.post(server.base + f"/submissions/{sid}/submit", data={"csrf_token": csrf(page)}, timeout=120)  # noqa: E731
    server.stop_at_fault(submit)
    assert counts(url) == uploaded and aggregates_equal_a_rebuild(app)
    server = Server(url, tmp)
    clerk = server.session("canbo.sct")
    page = clerk.get(server.base + f"/submissions/{sid}").text
    assert clerk.post(server.base + f"/submissions/{sid}/submit", data={"csrf_token": csrf(page)}).status_code == 200
    server.kill()
    submitted = counts(url)
    assert submitted["status"] == ["submitted"] and submitted["aggregates"] > uploaded["aggregates"]
    assert aggregates_equal_a_rebuild(app)

    # 3. approval: killed after the approved partials were rolled up, before the commit
    server = Server(url, tmp, fault="approve.before_commit")
    boss = server.session("pheduyet.hn")
    page = boss.get(server.base + f"/submissions/{sid}").text
    server.stop_at_fault(lambda: boss.post(server.base + f"/submissions/{sid}/approve",
                                           data={"csrf_token": csrf(page)}, timeout=120))
    assert counts(url) == submitted and aggregates_equal_a_rebuild(app)
    server = Server(url, tmp)
    boss = server.session("pheduyet.hn")
    page = boss.get(server.base + f"/submissions/{sid}").text
    approved = boss.post(server.base + f"/submissions/{sid}/approve", data={"csrf_token": csrf(page)})
    assert approved.status_code == 200
    national = boss.get(server.base + "/api/v1/aggregates?regime=BCT-BANLE&period=2026-M12&agency=T01").json()
    server.kill()
    assert counts(url)["status"] == ["approved"] and aggregates_equal_a_rebuild(app)
    assert national["reporting"] == 1


def test_sigkill_mid_rebuild_keeps_the_aggregates_whole(crash_db):
    url, app, tmp = crash_db
    with app.app_context():
        from sqlalchemy import select

        from app.models import User
        from app.services.history import seed_history

        seed_history(actor=db.session.scalar(select(User).where(User.username == "quantri")), communes_of=(), compile_last=0,
                     periods=("2026-M09", "2026-M10", "2026-Q2", "2026-Q3"))  # two periods of each regime
        db.session.remove()
    before = counts(url)
    marker = tmp / "rebuild-fault"
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "fault-test-secret-0123456789", "BAOCAO_INSTANCE": str(tmp),
           "BAOCAO_FAULTPOINT": "rebuild.regime", "BAOCAO_FAULTPOINT_HIT": "2", "BAOCAO_FAULTPOINT_FILE": str(marker)}
    env.pop("TEST_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "aggregate", "rebuild", "--all"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert time.monotonic() < deadline and proc.poll() is None, "the rebuild never reached its second regime"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert counts(url) == before  # the first regime was rebuilt to the same figures; the second rolled back
    assert aggregates_equal_a_rebuild(app)


def test_simultaneous_submissions_of_one_period_all_count(tmp_path):
    """Eight provincial departments submit the same period at the same instant (found by the
    deadline-day load test: without the per-period lock two roll-ups collided or lost one another)."""
    import threading as th

    from sqlalchemy import select

    from app.models import Agency, User
    from app.services import sending as sending_svc
    from app.services import submissions as svc
    from app.services.users import create_user

    url = own_database(tmp_path, "baocao_concurrent")
    app = create_app(_test_config(url, tmp_path))
    prepare_database(app)
    with app.app_context():
        codes = db.session.scalars(select(Agency.code).where(Agency.code.like("T%.SCT")).order_by(Agency.code).limit(8)).all()
        for i, code in enumerate(codes):
            create_user(username=f"dongthoi.{i}", password="mot-cum-tu-de-nho", full_name=f"Cán bộ {code}", role="reporter",
                        agency_code=code)
        db.session.remove()
    barrier, errors = th.Barrier(len(codes)), []

    def clerk(i: int, code: str) -> None:
        try:
            with app.app_context():
                user = db.session.scalar(select(User).where(User.username == f"dongthoi.{i}"))
                report = svc.open_report(user=user, regime_code="BCT-BANLE", agency_code=code, period_key="2026-M12", for_write=True)
                values = {(k, ""): (str(v + i), False, "") for k, v in retail_values().items()}
                sub = svc.save(user=user, report=report, raw=values, outline={}, revision=None).submission
                barrier.wait(timeout=60)
                sending_svc.submit(user=user, submission_id=sub.id)
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 — reported below with the thread's agency
            errors.append((code, repr(exc)))

    threads = [th.Thread(target=clerk, args=(i, code)) for i, code in enumerate(codes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    with app.app_context():
        nation = db.session.execute(text("SELECT max(n) FROM aggregates a JOIN regimes r ON r.id = a.regime_id "
                                         "WHERE r.code = 'BCT-BANLE' AND a.period_key = '2026-M12' AND a.unit_code = 'CP' "
                                         "AND a.basis = 'latest'")).scalar()
        db.session.remove()
    assert nation == len(codes)  # every department counted in the national total
    assert aggregates_equal_a_rebuild(app)
