"""Consolidated PDFs rendered off the request path, as durable jobs (app/services/jobs.py): the
request checks scope and inputs and enqueues; the same PDF asked for twice is one job; the page
polls the job's progress; the file is kept in the shared job storage. The render is exports.pdf."""
from __future__ import annotations

from app.extensions import db
from app.models import User

from . import aggregation, jobs
from . import center as center_svc


def start_pdf(*, user: User, regime: str, period: str, agency: str = aggregation.NATION, units: str = "as_reported") -> dict:
    """Enqueue the render (in this request's transaction) and return the state the page shows."""
    center_svc.view(user=user, regime=regime, period=period, unit=agency, units=units)  # scope and input checked now
    args = {"regime": regime, "period": period, "agency": agency, "units": units, "user": user.id, "stamp": _stamp(regime, period)}
    job = jobs.enqueue(kind="pdf", args=args, user=user)
    db.session.commit()
    return job_status(user=user, job=job.id)


def _stamp(regime: str, period: str) -> str:
    """What the figures were when asked (which versions count): a new approval makes a new job,
    not the old file."""
    from sqlalchemy import func, select

    from app.models import RecordVersion, Regime

    n, total = db.session.execute(select(func.count(), func.coalesce(func.sum(RecordVersion.version_id), 0))
                                  .join(Regime, Regime.id == RecordVersion.regime_id)
                                  .where(Regime.code == regime, RecordVersion.period_key == period)).one()
    return f"{n}-{total}"


STATE = {"queued": "running", "running": "running", "done": "done", "failed": "failed"}


def job_status(*, user: User, job: int) -> dict:
    j = jobs.get(user=user, job_id=job)
    if j.kind != "pdf":
        from .errors import NotFound

        raise NotFound("Không có yêu cầu lập báo cáo này")
    step = j.step if j.status != "failed" else f"Lỗi: {j.error[:200]}"
    return {"job": j.id, "state": STATE[j.status], "step": step, "name": j.result_name, "bytes": j.result_bytes, **{
        k: j.args.get(k) for k in ("regime", "period", "agency", "units")}}


def job_file(*, user: User, job: int) -> tuple[bytes, str]:
    return jobs.result(user=user, job_id=job)
