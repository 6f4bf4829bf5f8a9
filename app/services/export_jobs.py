"""Consolidated PDFs rendered off the request path: a job per request, its state in files under
instance/exports/ (any web worker answers for it), a bounded pool of render threads per process,
a stale job reported as interrupted. The render itself is exports.pdf."""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from pathlib import Path

from flask import current_app

from app.domain.deadlines import VN_TZ
from app.extensions import db, reading_only
from app.models import User

from . import aggregation
from . import center as center_svc
from .exports import pdf


def _job_dir() -> Path:
    path = Path(current_app.config["INSTANCE_DIR"]) / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def start_pdf(*, user: User, regime: str, period: str, agency: str = aggregation.NATION, units: str = "as_reported") -> dict:
    """Start rendering in a background thread and return a job the page can poll. The job lives in
    files under instance/exports/, so any web worker can answer for it; a finished PDF for the
    same data is reused at once."""
    import uuid

    center_svc.view(user=user, regime=regime, period=period, unit=agency, units=units)  # scope and input checked now
    job = uuid.uuid4().hex
    state = {"job": job, "state": "running", "step": "Đang tổng hợp số liệu", "user": user.id, "regime": regime, "period": period,
             "agency": agency, "units": units, "started": datetime.now(VN_TZ).isoformat()}
    _write_job(job, state)
    app = current_app._get_current_object()
    user_id = user.id

    def work():
        reading_only.set(True)  # reads only: on SQLite no write lock while it renders (app/extensions.py)
        with app.app_context():
            try:
                who = db.session.get(User, user_id)
                _write_job(job, state | {"step": "Đang dựng các trang báo cáo"})
                data, name, cached = pdf(user=who, regime=regime, period=period, agency=agency, units=units)
                (_job_dir() / f"{job}.pdf").write_bytes(data)
                _write_job(job, state | {"state": "done", "step": "Xong", "name": name, "bytes": len(data), "cached": cached})
            except Exception as exc:  # the page shows it; the log keeps the detail
                current_app.logger.exception("PDF export failed")
                _write_job(job, state | {"state": "failed", "step": f"Lỗi: {str(exc)[:200]}"})
            finally:
                db.session.remove()

    _renders(app).submit(work)
    return state


_POOL: dict[int, tuple] = {}
_POOL_LOCK = threading.Lock()


class _BoundedRenders:
    """A fixed number of render threads per process, and a bounded queue: more PDFs asked for at
    once than the machine can render are refused with a clear message, not started all together."""

    def __init__(self, threads: int, queue: int):
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="pdf")
        self.limit, self.waiting, self.lock = threads + queue, 0, threading.Lock()

    def submit(self, fn) -> None:
        from .errors import Busy

        with self.lock:
            if self.waiting >= self.limit:
                raise Busy("Máy chủ đang lập nhiều báo cáo; vui lòng thử lại sau ít phút")
            self.waiting += 1

        def run():
            try:
                fn()
            finally:
                with self.lock:
                    self.waiting -= 1

        self.pool.submit(run)


def _renders(app) -> _BoundedRenders:
    with _POOL_LOCK:
        key = id(app)
        if key not in _POOL:
            _POOL[key] = _BoundedRenders(app.config["EXPORT_RENDER_THREADS"], app.config["EXPORT_RENDER_QUEUE"])
        return _POOL[key]


def _write_job(job: str, state: dict) -> None:
    tmp = _job_dir() / f"{job}.json.tmp"
    tmp.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    tmp.replace(_job_dir() / f"{job}.json")


def job_status(*, user: User, job: str) -> dict:
    from .errors import Forbidden, NotFound

    if not job.isalnum() or len(job) != 32:
        raise NotFound("Không có yêu cầu lập báo cáo này")
    path = _job_dir() / f"{job}.json"
    if not path.exists():
        raise NotFound("Không có yêu cầu lập báo cáo này")
    state = json.loads(path.read_text(encoding="utf-8"))
    if state["user"] != user.id:
        raise Forbidden("Yêu cầu lập báo cáo này của người khác")
    if state["state"] == "running" and time.time() - path.stat().st_mtime > current_app.config["EXPORT_JOB_STALE_SECONDS"]:
        # the worker rendering it was restarted or killed (a deploy, a crash): say so, rather than a
        # progress bar that never ends; the page offers to start it again
        state |= {"state": "failed", "step": "Việc lập báo cáo bị gián đoạn (máy chủ đã khởi động lại). Hãy lập lại."}
        _write_job(job, state)
    return state


def job_file(*, user: User, job: str) -> tuple[bytes, str]:
    from .errors import NotFound

    state = job_status(user=user, job=job)
    if state["state"] != "done":
        raise NotFound("Báo cáo chưa lập xong")
    return (_job_dir() / f"{job}.pdf").read_bytes(), state["name"]
