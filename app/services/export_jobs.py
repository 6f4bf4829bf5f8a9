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


# ------------------------------------------------------------------------------- data exports
def export_values_estimate(*, regime: str, start: str, end: str) -> int:
    """About how many values an SDMX / DHIS2 export of the range holds: the approved reports in it
    times the cells of the regime's form (a count of the values themselves costs a second at 10
    million)."""
    from sqlalchemy import func, select

    from app.domain.layout import Layout
    from app.models import RecordVersion

    from .catalogue import regime_definition
    from .interchange import _period_keys

    r, keys = _period_keys(regime, start, end)
    reports = db.session.scalar(select(func.count()).select_from(RecordVersion).where(
        RecordVersion.regime_id == r.id, RecordVersion.basis == "approved", RecordVersion.period_key.in_(keys))) or 0
    definition, cat = regime_definition(r.current_version)
    return reports * len(Layout(definition, cat).cells)


def start_export(*, user: User, fmt: str, regime: str, start: str, end: str, dhis2_format: str = "json"):
    """Queue an SDMX-CSV or DHIS2 export of approved values (scope and input checked now, again by
    the worker) and commit. One job per (user, format, range, the figures then): the same export
    asked twice shares it; a new approval in the range makes a new one."""
    from .interchange import _period_keys

    center_svc.scope_of(user)
    _period_keys(regime, start, end)
    stamps = [_stamp(regime, key) for key in _period_keys(regime, start, end)[1]]
    args = {"format": fmt, "regime": regime, "start": start, "end": end, "dhis2_format": dhis2_format, "user": user.id,
            "stamp": ",".join(stamps)}
    job = jobs.enqueue(kind="export", args=args, user=user)
    db.session.commit()
    return job


@jobs.handler("export")
def _export(job, progress: jobs.Progress) -> jobs.Result:
    from . import interchange

    a = job.args
    who = db.session.get(User, job.requested_by_id)
    if who is None or not who.active:
        raise jobs.Refused("Tài khoản đã yêu cầu xuất dữ liệu này không còn hoạt động")
    progress(f"Đang xuất {a['format'].upper()} {a['regime']} {a['start']}–{a['end'] or a['start']}")
    if a["format"] == "sdmx":
        chunks, name = interchange.sdmx_data(user=who, regime=a["regime"], start=a["start"], end=a["end"])
        return jobs.Result(name=name, chunks=chunks, note="Đã xuất SDMX-CSV")
    data, name = interchange.dhis2(user=who, regime=a["regime"], start=a["start"], end=a["end"], fmt=a["dhis2_format"])
    return jobs.Result(data, name, "Đã xuất DHIS2")
