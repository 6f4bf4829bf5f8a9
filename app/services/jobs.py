"""Durable background work. A job is a row (`jobs`) written in the same transaction as the request
that causes it: identical requests (same kind, same inputs) share one job; its progress and result
are read by whoever asked, from any app server; failures are retried with back-off, then shown
with the reason. Who runs it:

* **PostgreSQL** — procrastinate workers (`flask jobs worker`, on any number of machines): the
  procrastinate job is deferred on the request's own connection, so the job exists if and only if
  the request's transaction commits; a worker that dies mid-job is detected by its missing heartbeat
  and the job is retried on another (app/adapters/queue.py).
* **SQLite** (the embedded default, one machine) — a bounded pool of threads in the web process,
  fed after the commit; a job left running by a process that died is taken up again when its
  heartbeat is stale.
* **Tests** (`JOBS_INLINE`) — at once, in the caller's transaction.

Results (PDFs, exports) are files under `JOB_STORAGE_DIR` (shared by all servers: a directory on the
embedded default, a shared volume in a multi-server layout), removed after `JOB_RETENTION_DAYS`.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, event, func, inspect, or_, select, update

from app.extensions import db
from app.models import Job, Role, User
from app.models.base import utcnow

from .errors import Busy, Forbidden, NotFound


class Refused(Exception):
    """The job's input cannot be done (bad content, not allowed): not retried; `data` (the reasons)
    is kept as its result."""

    def __init__(self, message: str, data: bytes = b""):
        super().__init__(message)
        self.data = data


@dataclass
class Result:
    data: bytes | None = None  # written to storage
    name: str = ""  # the file name offered for download
    note: str = ""
    chunks: Iterable[bytes | str] | None = None  # or written to storage as they come (an export of millions of values)


Progress = Callable[[str], None]
HANDLERS: dict[str, Callable[[Job, Progress], Result]] = {}


def handler(kind: str):
    def register(fn):
        HANDLERS[kind] = fn
        return fn
    return register


def storage_dir() -> Path:
    path = Path(current_app.config.get("JOB_STORAGE_DIR") or Path(current_app.config["INSTANCE_DIR"]) / "jobs")
    path.mkdir(parents=True, exist_ok=True)
    return path


def keep_input(body: bytes, *, user: User | None = None) -> str:
    """A job's input file kept in the shared storage under its SHA-256 (removed after the retention
    by `prune`); returns the digest the job's arguments name it by. A new file of a `user` who
    already has JOBS_PER_USER jobs waiting is refused before it is written (the enqueue would
    refuse it anyway, after the file had been kept)."""
    digest = hashlib.sha256(body).hexdigest()
    inputs = storage_dir() / "inputs"
    inputs.mkdir(exist_ok=True)
    path = inputs / f"{digest}.bin"
    if not path.exists():
        if user is not None:
            _check_room(user)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(body)
        tmp.replace(path)
    return digest


def read_input(digest: str) -> bytes:
    return (storage_dir() / "inputs" / f"{digest}.bin").read_bytes()


def key_of(kind: str, args: dict) -> str:
    return hashlib.sha256(json.dumps([kind, args], sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()[:64]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# ------------------------------------------------------------------------------------- enqueue
def enqueue(*, kind: str, args: dict, user: User | None = None, key: str | None = None, max_attempts: int = 3) -> Job:
    """The job for (kind, inputs): the one already queued, running or done (with its file still
    there) when there is one — identical requests share it — else a new attempt. In the caller's
    transaction; the caller commits. From a page view (GET, whose transaction only reads), the read
    is closed first and the enqueue takes the write lock when it begins (SQLite)."""
    if kind not in HANDLERS:
        raise NotFound(f"Không có loại việc “{kind}”")
    from flask import g, has_request_context, request

    if has_request_context() and request.method in ("GET", "HEAD") and not g.get("baocao_writes"):
        db.session.commit()  # end the read: a read transaction cannot become a write once another writer committed
        g.baocao_writes = True  # this request's next transaction begins as a writer
    key = key or key_of(kind, args)
    job = db.session.scalar(select(Job).where(Job.kind == kind, Job.key == key))
    if job is not None and (job.status in ("queued", "running") or (job.status == "done" and _result_exists(job))):
        return job
    if user is not None:  # each file a user sends is kept and read: their unfinished work is bounded
        _check_room(user)
    if job is None:
        job = Job(kind=kind, key=key, args=args, created_at=utcnow())
        db.session.add(job)
    job.status, job.step, job.attempts, job.error, job.run_after = "queued", "Đang chờ đến lượt", 0, "", None
    job.result_path, job.result_name, job.result_bytes, job.max_attempts = "", "", 0, max_attempts
    job.requested_by_id = user.id if user is not None else job.requested_by_id
    job.created_at = utcnow()
    db.session.flush()
    _dispatch(job)
    return job


def _check_room(user: User) -> None:
    waiting = db.session.scalar(select(func.count()).select_from(Job).where(
        Job.requested_by_id == user.id, Job.status.in_(("queued", "running"))))
    if waiting >= current_app.config.get("JOBS_PER_USER", 10):
        raise Busy(f"Bạn đang có {waiting} việc chờ xử lý (tải tệp, xuất, lập báo cáo); hãy đợi chúng xong rồi thử lại")


def _result_exists(job: Job) -> bool:
    return not job.result_path or (storage_dir() / job.result_path).exists()


def _dispatch(job: Job, delay: float = 0) -> None:
    app = current_app._get_current_object()
    if app.config.get("JOBS_INLINE"):
        if delay == 0:
            run(job.id)
        return
    if db.engine.dialect.name == "postgresql":
        from app.adapters import queue

        queue.defer(job.id, connection=db.session.connection().connection.driver_connection, delay=delay)
        return
    pending = db.session.info.setdefault("jobs_after_commit", [])
    pending.append((job.id, delay))


def _after_commit(session) -> None:
    pending = session.info.pop("jobs_after_commit", [])
    if not pending:
        return
    app = current_app._get_current_object()
    for job_id, delay in pending:
        _local_pool(app).submit(app, job_id, delay)


def _after_rollback(session) -> None:
    session.info.pop("jobs_after_commit", None)


def init_app(app) -> None:
    from sqlalchemy.orm import Session

    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", lambda session, previous: _after_rollback(session))


# ------------------------------------------------------------------------------------------ run
def run(job_id: int, *, worker: str | None = None) -> str:
    """Claim the job and do it; returns its status afterwards. A job queued, or left running by a
    worker whose heartbeat stopped, is claimed by exactly one worker (a conditional UPDATE)."""
    now = utcnow()
    stale = now - timedelta(seconds=current_app.config.get("JOB_STALE_SECONDS", 60))
    claimed = db.session.execute(
        update(Job).where(Job.id == job_id, or_(Job.status == "queued", (Job.status == "running") & (Job.heartbeat_at < stale)),
                          or_(Job.run_after.is_(None), Job.run_after <= now))
        .values(status="running", attempts=Job.attempts + 1, started_at=now, heartbeat_at=now, worker=(worker or worker_name())[:120],
                step="Đang thực hiện")).rowcount
    db.session.commit()
    job = db.session.get(Job, job_id)
    if not claimed or job is None:
        return job.status if job is not None else "missing"
    # the handler starts outside any transaction: on SQLite a job's transaction takes the write lock
    # when it begins, and one held while a handler reads a file or waits kept every clerk's save
    # waiting, then refused (503) — seen in CI. It reads a copy of the job's row (the session's own
    # object is expired by the commit, as it is for whoever else holds it)
    job = Job(**{a.key: getattr(job, a.key) for a in inspect(Job).column_attrs})
    db.session.commit()

    def progress(step: str) -> None:
        db.session.execute(update(Job).where(Job.id == job_id).values(step=step[:300], heartbeat_at=utcnow()))
        db.session.commit()

    try:
        result = HANDLERS[job.kind](job, progress)
        path, size = "", 0
        if result.data is not None or result.chunks is not None:
            path = f"{job.kind}-{job.id}-{job.attempts}.bin"
            tmp = storage_dir() / (path + ".tmp")
            with tmp.open("wb") as out:
                for chunk in ([result.data] if result.data is not None else result.chunks):
                    data = chunk.encode("utf-8") if isinstance(chunk, str) else chunk
                    out.write(data)
                    size += len(data)
            tmp.replace(storage_dir() / path)
        db.session.execute(update(Job).where(Job.id == job_id).values(
            status="done", step=result.note or "Xong", result_path=path, result_name=result.name[:300],
            result_bytes=size, finished_at=utcnow(), heartbeat_at=utcnow(), error=""))
        db.session.commit()
        return "done"
    except Refused as exc:
        db.session.rollback()
        path = f"{job.kind}-{job.id}-{job.attempts}-refused.json"
        (storage_dir() / path).write_bytes(exc.data)
        db.session.execute(update(Job).where(Job.id == job_id).values(
            status="failed", step="Không thực hiện được", error=str(exc)[:500], result_path=path, result_name=f"{job.kind}-loi.json",
            result_bytes=len(exc.data), finished_at=utcnow(), heartbeat_at=utcnow()))
        db.session.commit()
        return "failed"
    except Exception as exc:  # noqa: BLE001 — recorded on the job, retried or shown with the reason
        db.session.rollback()
        current_app.logger.exception("job %s (%s) failed", job_id, job.kind)
        job = db.session.get(Job, job_id)
        reason = str(exc)[:500] or type(exc).__name__
        if job.attempts < job.max_attempts:
            wait = min(300, 5 * 2 ** (job.attempts - 1))  # 5 s, 10 s, 20 s … at most 5 minutes
            job.status, job.step, job.error, job.run_after = "queued", f"Thử lại sau {wait} giây (lần {job.attempts})", reason, utcnow() + timedelta(seconds=wait)
            db.session.flush()
            _dispatch(job, delay=wait)
        else:
            job.status, job.step, job.error, job.finished_at = "failed", "Không thực hiện được", reason, utcnow()
        db.session.commit()
        return job.status


# ------------------------------------------------------------------------ the embedded default
class _LocalPool:
    """A few threads per web process and a bounded queue; more work than that waits in the
    database rather than being started all together."""

    def __init__(self, threads: int, queue: int):
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="job")
        self.limit, self.waiting, self.lock = threads + queue, 0, threading.Lock()

    def submit(self, app, job_id: int, delay: float = 0) -> bool:
        """False when the pool is full: the job stays queued in the database and the scheduler's
        housekeeping takes it up (nothing is refused, nothing is started beyond the bound)."""
        with self.lock:
            if self.waiting >= self.limit:
                return False
            self.waiting += 1

        def work():
            import time

            from app.extensions import reading_only

            try:
                if delay:
                    time.sleep(delay)
                reading_only.set(False)
                with app.app_context():
                    try:
                        run(job_id)
                    finally:
                        db.session.remove()
            finally:
                with self.lock:
                    self.waiting -= 1

        self.pool.submit(work)
        return True


_POOLS: dict[int, _LocalPool] = {}
_POOLS_LOCK = threading.Lock()


def _local_pool(app) -> _LocalPool:
    with _POOLS_LOCK:
        if id(app) not in _POOLS:
            _POOLS[id(app)] = _LocalPool(app.config.get("EXPORT_RENDER_THREADS", 2), app.config.get("EXPORT_RENDER_QUEUE", 8))
        return _POOLS[id(app)]


def resume_stale() -> int:
    """The embedded default: jobs left queued or running by a web process that stopped are done
    here (the scheduler calls this every minute). Returns how many were taken up."""
    if current_app.config.get("JOBS_INLINE") or db.engine.dialect.name == "postgresql":
        return 0
    now = utcnow()
    stale = now - timedelta(seconds=current_app.config.get("JOB_STALE_SECONDS", 120))
    ids = list(db.session.scalars(select(Job.id).where(
        or_((Job.status == "queued") & (Job.created_at < stale) & or_(Job.run_after.is_(None), Job.run_after <= now),
            (Job.status == "running") & (Job.heartbeat_at < stale)))))
    for job_id in ids:
        run(job_id, worker=f"{worker_name()} (scheduler)")
    return len(ids)


# ------------------------------------------------------------------------------- reading, admin
def get(*, user: User, job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None:
        raise NotFound("Không có việc này")
    if job.requested_by_id != user.id and not user.has_role(Role.ADMIN):
        raise Forbidden("Việc này do người khác yêu cầu")
    return job


def result(*, user: User, job_id: int, failed_too: bool = False) -> tuple[bytes, str]:
    """The result file of a job done (and, with `failed_too`, the reasons a refused job kept)."""
    job = get(user=user, job_id=job_id)
    if job.status not in (("done", "failed") if failed_too else ("done",)) or not job.result_path \
            or not (storage_dir() / job.result_path).exists():
        raise NotFound("Kết quả chưa có hoặc đã hết hạn lưu")
    return (storage_dir() / job.result_path).read_bytes(), job.result_name


def listing(*, status: str = "", limit: int = 200) -> list[Job]:
    stmt = select(Job).order_by(Job.created_at.desc()).limit(limit)
    if status:
        stmt = stmt.where(Job.status == status)
    return list(db.session.scalars(stmt))


def retry(*, job_id: int) -> Job:
    """An administrator sends a failed (or stuck) job round again."""
    job = db.session.get(Job, job_id)
    if job is None:
        raise NotFound("Không có việc này")
    job.status, job.attempts, job.run_after, job.step = "queued", 0, None, "Đang chờ đến lượt (làm lại)"
    db.session.flush()
    _dispatch(job)
    db.session.commit()
    return job


def prune(*, days: int | None = None) -> int:
    """Result files older than the retention are removed (the job rows stay, as a record — but for
    the "mail" jobs done, one per burst of mail: the messages themselves are the record)."""
    days = days if days is not None else current_app.config.get("JOB_RETENTION_DAYS", 7)
    before = utcnow() - timedelta(days=days)
    n = db.session.execute(delete(Job).where(Job.kind == "mail", Job.status == "done", Job.finished_at < before)).rowcount or 0
    for job in db.session.scalars(select(Job).where(Job.finished_at < before, Job.result_path != "")):
        (storage_dir() / job.result_path).unlink(missing_ok=True)
        job.result_path = ""
        n += 1
    db.session.commit()
    cut = before.timestamp()
    exports = Path(current_app.config["INSTANCE_DIR"]) / "exports"
    for pattern in (storage_dir() / "inputs").glob("*.bin"), exports.glob("*.pdf"), (exports / "parts").glob("*.pdf"):
        for kept in pattern:  # files imported by a job (import_jobs.py), rendered reports and their parts (exports.py)
            if kept.stat().st_mtime < cut:
                kept.unlink(missing_ok=True)
                n += 1
    return n


# ----------------------------------------------------------------------------------- job kinds
@handler("probe")
def _probe(job: Job, progress: Progress) -> Result:
    """A harmless job for operations (`flask jobs probe`): waits, then writes one line — so a
    worker's death mid-job and the job done exactly once can be checked."""
    import time

    seconds = float(job.args.get("seconds", 1))
    end = time.monotonic() + min(seconds, 600)
    while time.monotonic() < end:
        progress(f"Đang chờ ({max(0, end - time.monotonic()):.0f} giây nữa)")
        time.sleep(min(0.5, max(0.0, end - time.monotonic())))
    if job.args.get("fail"):
        raise RuntimeError("Thử lỗi theo yêu cầu")
    log = job.args.get("log")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{job.id} {worker_name()}\n")
    return Result(f"probe {job.id}".encode(), f"probe-{job.id}.txt")


@handler("pdf")
def _pdf(job: Job, progress: Progress) -> Result:
    from app.extensions import reading_only

    from .exports import pdf

    progress("Đang dựng các trang báo cáo")
    a = job.args
    token = reading_only.set(True)  # the render only reads: on SQLite it takes no write lock meanwhile
    try:
        who = db.session.get(User, job.requested_by_id)
        data, name, _cached = pdf(user=who, regime=a["regime"], period=a["period"], agency=a["agency"], units=a["units"])
        db.session.commit()  # ends the read
    finally:
        reading_only.reset(token)
    return Result(data, name)


@handler("quality")
def _quality(job: Job, progress: Progress) -> Result:
    """The data-quality pass of a large period (services/quality.scan_or_job)."""
    from . import quality

    progress("Đang đọc số liệu và lịch sử của từng ô")
    checked, found = quality.findings_for(job.args)
    return Result(json.dumps({"checked": checked, "found": found}, ensure_ascii=False).encode(), "quality.json",
                  f"Đã xét {checked} giá trị")
