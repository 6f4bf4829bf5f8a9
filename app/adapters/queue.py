"""procrastinate, the job engine on PostgreSQL: one task, `baocao.run_job(job_id)`, that runs a row
of `jobs` (app/services/jobs.py). Deferred on the request's own connection (it exists if and only if
the request commits); run by `flask jobs worker` processes on any number of machines; a worker that
stops sending heartbeats has its jobs retried on another."""
from __future__ import annotations

import asyncio
import logging

import procrastinate
from flask import current_app

log = logging.getLogger(__name__)
_APPS: dict[str, procrastinate.App] = {}


def conninfo(url: str) -> str:
    """The SQLAlchemy URL as libpq understands it."""
    from sqlalchemy.engine import make_url

    u = make_url(url).set(drivername="postgresql")
    return u.render_as_string(hide_password=False)


def app_for(url: str) -> procrastinate.App:
    if url not in _APPS:
        proc = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(url)))

        @proc.task(name="baocao.run_job", queue="baocao")
        def run_job(job_id: int) -> None:  # runs in a worker thread, inside the Flask app (see worker())
            flask_app = _FLASK["app"]
            with flask_app.app_context():
                from app.extensions import db
                from app.services import jobs

                try:
                    if jobs.run(job_id) == "running":
                        # another worker holds it (alive, or not yet known to be dead): look again later
                        # rather than drop it
                        delay = flask_app.config.get("JOB_STALE_SECONDS", 120)
                        run_job.configure(schedule_in={"seconds": int(delay)}).defer(job_id=job_id)
                finally:
                    db.session.remove()

        _APPS[url] = proc
    return _APPS[url]


_FLASK: dict = {}


def defer(job_id: int, *, connection, delay: float = 0) -> None:
    """Defer on the given psycopg connection: in the caller's transaction."""
    proc = app_for(current_app.config["SQLALCHEMY_DATABASE_URI"])
    task = proc.tasks["baocao.run_job"]
    options = {"connection": connection, "queueing_lock": None}
    if delay:
        options["schedule_in"] = {"seconds": int(delay)}
    task.configure(**options).defer(job_id=job_id)


def worker(flask_app, *, concurrency: int = 1, stalled_after: float = 30.0, heartbeat: float = 5.0) -> None:
    """Run jobs until stopped (SIGTERM/SIGINT finish the job in hand). Every few seconds, jobs whose
    worker stopped sending heartbeats are sent round again."""
    _FLASK["app"] = flask_app
    proc = app_for(flask_app.config["SQLALCHEMY_DATABASE_URI"])

    async def main() -> None:
        async with proc.open_async():
            async def rescue() -> None:
                while True:
                    await asyncio.sleep(max(1.0, stalled_after / 3))
                    try:
                        for job in await proc.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
                            log.warning("job %s of a stopped worker: retried", job.id)
                            await proc.job_manager.retry_job(job)
                    except Exception:  # noqa: BLE001 — the database may be restarting; try again
                        log.exception("checking for stalled jobs failed")

            checker = asyncio.create_task(rescue())
            try:
                # a job done leaves procrastinate's table (the `jobs` row is the record): one mail job per burst
                # of mail would otherwise pile up there for ever
                await proc.run_worker_async(queues=["baocao"], concurrency=concurrency, update_heartbeat_interval=heartbeat,
                                            stalled_worker_timeout=stalled_after, install_signal_handlers=True,
                                            delete_jobs="successful")
            finally:
                checker.cancel()

    asyncio.run(main())
