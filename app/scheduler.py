"""The scheduler process: `flask scheduler run` starts an APScheduler BlockingScheduler whose
jobs live in the app database (SQLAlchemyJobStore). Jobs are declared as data; each runs in its
own app context and makes one service call. Reminders are claimed by unique keys and mail is
leased, so a second scheduler process (or a manual `flask reminders send`) never sends twice."""
from __future__ import annotations

import logging
import os
import threading
from datetime import datetime

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler

from app.domain.deadlines import VN_TZ

log = logging.getLogger(__name__)

# id → (function, trigger, trigger arguments). Reminder steps fall due at BAOCAO_REMINDER_HOUR
# (08:00) local time; running every 15 minutes sends them promptly and catches up after a restart.
JOBS: dict[str, tuple[str, str, dict]] = {
    "reminders": ("app.scheduler:run_reminders", "cron", {"minute": "*/15"}),
    "deliver-mail": ("app.scheduler:run_delivery", "interval", {"minutes": 1}),
    "jobs-housekeeping": ("app.scheduler:run_jobs_housekeeping", "interval", {"minutes": 1}),
}
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 900}


def _clock() -> datetime:
    """Now — or a frozen instant from BAOCAO_CLOCK (ISO 8601 with offset), for rehearsals and tests."""
    frozen = os.environ.get("BAOCAO_CLOCK")
    return datetime.fromisoformat(frozen) if frozen else datetime.now(VN_TZ)


_APP: dict = {}
_APP_LOCK = threading.Lock()


def _app():
    """One app per scheduler process, built once under a lock: the jobs run in threads, and building
    apps in several threads at once tripped CPython 3.11's parser ("AST constructor recursion depth
    mismatch" while werkzeug compiled the routes — seen in CI when the three jobs started together)."""
    with _APP_LOCK:
        if "app" not in _APP:
            from app import create_app

            _APP["app"] = create_app()
        return _APP["app"]


def run_reminders() -> None:
    from app.services import reminders

    app = _app()
    with app.app_context():
        result = reminders.send(now=_clock())  # queues the messages and, with them, the job that delivers them
        log.info("reminders at %s: %d claimed, %d messages queued", result.at.isoformat(), result.claimed, result.messages)
        if not app.config.get("MAIL_JOBS", True):
            delivered = reminders.deliver(now=_clock())
            log.info("delivery: %d sent, %d to retry, %d failed", delivered.sent, delivered.retried, delivered.failed)


def run_delivery() -> None:
    """Every minute: a "mail" job for what is due (retries whose back-off has passed, messages a
    stopped process left) — delivered by the job workers; or, with MAIL_JOBS off, delivered here."""
    from app.extensions import db
    from app.services import mail_delivery, reminders

    app = _app()
    with app.app_context():
        if app.config.get("MAIL_JOBS", True):
            job = mail_delivery.wake(due_only=True, now=_clock())
            db.session.commit()
            if job is not None:
                log.info("delivery: job %d queued", job.id)
            return
        delivered = reminders.deliver(now=_clock())
        if delivered.sent or delivered.retried or delivered.failed:
            log.info("delivery: %d sent, %d to retry, %d failed", delivered.sent, delivered.retried, delivered.failed)


def run_jobs_housekeeping() -> None:
    """Background jobs: on the embedded default, take up those a stopped web process left; everywhere,
    remove result files past their retention, and the reporting center's kept views nobody needed
    for a month."""
    from app.extensions import db
    from app.services import center_cache, jobs

    app = _app()
    with app.app_context():
        taken = jobs.resume_stale()
        pruned = jobs.prune()
        views = center_cache.prune()
        db.session.commit()
        if taken or pruned or views:
            log.info("jobs: %d taken up again, %d result files past retention removed; %d kept center views dropped",
                     taken, pruned, views)


def build(database_url: str, *, run_now: bool = False) -> BlockingScheduler:
    options = {"connect_args": {"timeout": 30}} if database_url.startswith("sqlite") else {"pool_pre_ping": True}
    scheduler = BlockingScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=database_url, tablename="apscheduler_jobs", engine_options=options)},
        job_defaults=JOB_DEFAULTS, timezone=VN_TZ)
    for job_id, (func, trigger, args) in JOBS.items():
        extra = {"next_run_time": datetime.now(VN_TZ)} if run_now else {}
        scheduler.add_job(func, trigger, id=job_id, replace_existing=True, **args, **extra)
    return scheduler
