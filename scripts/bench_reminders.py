"""Benchmark: reminders at the scale of every commune of Vietnam.

    .venv/bin/python scripts/bench_reminders.py [--regimes 20] [--deliver 2000]

Builds a throwaway database (SQLite, or DATABASE_URL) with the real agency map (3,321 communes,
34 provinces, ministries, departments), 20 synthetic monthly regimes owed by every commune with
deadlines spread over the month, and one reporter with an e-mail address per commune; starts a
local SMTP server (aiosmtpd); then measures, at 08:05 on a busy day:
  - who is due (gather + the pure rule), the target being under 2 s;
  - planning the messages (rendering) and claiming/queuing them;
  - delivery to the local SMTP server, the target being at least 50 messages/s.
Prints figures only.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def synthetic(root: Path, regimes: int) -> None:
    shutil.copytree(ROOT / "indicators", root / "indicators")
    shutil.copytree(ROOT / "report_templates", root / "report_templates")
    for n in range(1, regimes + 1):
        code = f"BENCH-XA-{n:02d}"
        d = root / "report_templates" / code
        (d / "forms").mkdir(parents=True)
        (d / "regime.yaml").write_text(f"""\
code: {code}
name_vi: Báo cáo thử số {n:02d} của cấp xã
type: periodic
frequency: monthly
issuing_agency: BNV
legal_basis: Chỉ dùng để đo hiệu năng
valid_from: 2025-07-01
content: Số liệu thử
content_kind: data
sending_methods: [system]
tiers:
  - name: Xã gửi tỉnh
    reporters: {{levels: [commune]}}
    receiver: parent
    deadline: {{rule: day_of_month, day: {15 + (n % 14)}}}
forms: [BIEU01]
""", encoding="utf-8")
        (d / "forms" / "BIEU01.yaml").write_text(
            "code: BIEU01\ntitle: Biểu thử\nrows:\n  - {indicator: CBCC_CONGCHUC, row: \"1\"}\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--regimes", type=int, default=20)
    ap.add_argument("--deliver", type=int, default=2000, help="how many queued messages to deliver for the rate")
    ap.add_argument("--through-jobs", action="store_true",
                    help="PostgreSQL: deliver through a \"mail\" job on a `flask jobs worker` process, as production does")
    ap.add_argument("--sink-process", action="store_true",
                    help="run the SMTP server in its own process (as a real mail server is), not in the benchmark's")
    args = ap.parse_args()

    from aiosmtpd.controller import Controller
    from flask_migrate import upgrade
    from sqlalchemy import func, insert, select

    from app import create_app
    from app.domain import reminders as rules
    from app.domain.deadlines import VN_TZ
    from app.extensions import db
    from app.models import Agency, MailMessage, User
    from app.services import agencies, catalogue
    from app.services import reminders as svc

    class Sink:
        count = 0

        async def handle_DATA(self, server, session, envelope):
            Sink.count += 1
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    if args.sink_process:
        import subprocess

        smtp_proc = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"])
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
    else:
        smtp = Controller(Sink(), hostname="127.0.0.1", port=port)
        smtp.start()
    work = Path(tempfile.mkdtemp(prefix="bench-reminders-"))
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{work / 'bench.sqlite'}"
    synthetic(work, args.regimes)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_DIR": str(work), "SECRET_KEY": "bench-secret-0123456789",
                      "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "TESTING": False})
    with app.app_context():
        upgrade(directory=str(ROOT / "app" / "migrations"))
        agencies.load_agencies()
        catalogue.load_catalogue(root=work)
        communes = db.session.execute(select(Agency.id, Agency.code).where(Agency.level == "commune", Agency.valid_to.is_(None))).all()
        db.session.execute(insert(User), [
            {"username": f"xa{code.lower()}", "full_name": f"Cán bộ {code}", "email": f"{code.lower()}@xa.baocao.local",
             "password_hash": "!", "role": "reporter", "agency_id": aid, "active": True, "locale": "vi"} for aid, code in communes])
        db.session.commit()
        now = datetime(2026, 11, 17, 8, 5, tzinfo=VN_TZ)
        print(f"{len(communes):,} communes with a reporter each, {args.regimes} monthly regimes; database {db.engine.dialect.name}; "
              f"instant {now.isoformat()}")

        t = time.perf_counter()
        ctx = svc.gather(now=now)
        gathered = time.perf_counter() - t
        t = time.perf_counter()
        dues, digests = rules.due(ctx.owed, now, svc._sent_keys(ctx.owed, now))
        decided = time.perf_counter() - t
        print(f"who is due: gather {gathered:.2f} s ({len(ctx.owed):,} reports owed near now) + rule {decided:.2f} s "
              f"= {gathered + decided:.2f} s → {len(dues):,} reminders, {len(digests)} digests (target < 2 s)")

        t = time.perf_counter()
        result = svc.send(now=now)
        queued = time.perf_counter() - t
        print(f"send (gather + rule + render + claim + queue, one transaction): {queued:.2f} s → "
              f"{result.claimed:,} claimed, {result.messages:,} messages, {result.notifications:,} notifications")
        again = svc.send(now=now)
        print(f"running the same instant again: {again.claimed} claimed, {again.messages} messages")

        connections = app.config.get("MAIL_CONNECTIONS", 1) if db.engine.dialect.name == "postgresql" else 1
        if args.through_jobs:
            through_jobs(app, url, work, port, now, args.deliver, connections)
            if not args.sink_process:
                print(f"the server received {Sink.count:,} messages")
            db.session.remove()
            db.engine.dispose()
            if args.sink_process:
                smtp_proc.terminate()
            else:
                smtp.stop()
            return
        from app.services import mail_delivery

        t = time.perf_counter()
        mail_delivery.warm()  # as `flask jobs worker` (and the scheduler with MAIL_JOBS=false) does at start
        print(f"starting the {connections} delivering process(es): {time.perf_counter() - t:.2f} s (once per worker)")
        t = time.perf_counter()
        delivered = svc.deliver(now=now, limit=args.deliver)
        took = time.perf_counter() - t
        print(f"delivery: {delivered.sent:,} messages in {took:.2f} s = {delivered.sent / took:,.0f} messages/s "
              f"over {connections} SMTP connection(s) (MAIL_CONNECTIONS; target ≥ 200/s); the server received "
              f"{Sink.count if not args.sink_process else delivered.sent:,}{' (its own process)' if args.sink_process else ''}")
        left = db.session.scalar(select(func.count()).select_from(MailMessage).where(MailMessage.status == "pending"))
        print(f"still queued: {left:,}")
    if args.sink_process:
        smtp_proc.terminate()
    else:
        smtp.stop()
    shutil.rmtree(work, ignore_errors=True)


def through_jobs(app, url: str, work: Path, port: int, now, count: int, connections: int) -> None:
    """`count` messages due, the rest held back; one "mail" job queued with them; a job worker
    process started; the rate is the job's own (from its start to its end: the worker's start is
    not counted), and every message must be sent once."""
    import subprocess
    from datetime import timedelta

    from sqlalchemy import func, select, update

    from app.extensions import db
    from app.models import Job, MailMessage
    from app.services import mail_delivery

    due = db.session.scalars(select(MailMessage.id).where(MailMessage.status == "pending").order_by(MailMessage.id).limit(count)).all()
    db.session.execute(update(MailMessage).where(MailMessage.status == "pending", MailMessage.id.not_in(due))
                       .values(next_attempt_at=now + timedelta(days=30)))
    db.session.execute(update(Job).where(Job.kind == "mail").values(status="done"))  # the one send() queued: not this run's
    job = mail_delivery.wake(now=now)
    db.session.commit()
    env = {**os.environ, "DATABASE_URL": url, "BAOCAO_INSTANCE": str(work), "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(port),
           "MAIL_CONNECTIONS": str(connections),}
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi.py", "jobs", "worker"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 600
        while time.time() < deadline:
            db.session.expire_all()
            j = db.session.get(Job, job.id)
            if j.status in ("done", "failed"):
                break
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(30)
    took = (j.finished_at - j.started_at).total_seconds()
    sent = db.session.scalar(select(func.count()).select_from(MailMessage).where(MailMessage.status == "sent"))
    print(f"delivery through a mail job on a job worker: {sent:,} messages in {took:.2f} s = {sent / took:,.0f} messages/s "
          f"over {connections} SMTP connection(s) (MAIL_CONNECTIONS; target ≥ 200/s); job {j.status}: {j.step}")


if __name__ == "__main__":
    main()
