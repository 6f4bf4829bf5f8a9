"""Large uploaded files read by durable background jobs (app/services/jobs.py): Excel workbooks
of a report, and catalogue zips a designer imports.

A workbook above `UPLOAD_INTERACTIVE_BYTES` is not read in the request: the request checks that the
user may write this report (against what is stored), keeps the file in the shared job storage by
its SHA-256 and queues a job "upload" — one per (user, report, file, revision), so a second click
is the same job. The worker reads and validates it exactly as the interactive upload does
(uploads.upload); the new version and the job's "done" commit in one transaction, so a worker
killed mid-way leaves nothing and the retry saves once. A refused workbook (a wrong cell, another
agency's template, a report changed meanwhile) fails the job at once with every problem — sheet
and cell — kept as its result, nothing saved.
"""
from __future__ import annotations

import json

from flask import current_app

from app.domain.numbers import format_vn
from app.extensions import db, reading_only
from app.models import Job, Role, User

from . import jobs
from .errors import Conflict, Forbidden, Invalid, NotFound


def _refused(exc: Exception) -> jobs.Refused:
    """A refused input as the job's result: its message and every problem as {where, message}
    (cell findings come shaped; a catalogue's problems name their file and line)."""
    details = getattr(exc, "details", None)
    if details is None:
        details = [{"where": ":".join(str(x) for x in (p.file, p.line) if x is not None) + (f" ({p.where})" if p.where else ""),
                    "message": p.message} for p in getattr(exc, "problems", [])]
    return jobs.Refused(str(exc), json.dumps({"message": str(exc), "details": details}, ensure_ascii=False, default=str).encode())


def _read_as_sender(job: Job, progress: jobs.Progress, step: str, work):
    """`work(user, data)` on the job's kept file, as the user who sent it — refused if that account
    is gone or disabled, or if the work refuses the input (every problem kept, nothing saved)."""
    progress(f"{step} {job.args['file_name']} ({format_vn(job.args['bytes'])} byte)")
    token = reading_only.set(True)  # SQLite: no write lock for reading who sent it
    try:
        who = db.session.get(User, job.requested_by_id)
        active = who is not None and who.active
        db.session.commit()  # ends the read: the work's writes begin a transaction of their own (one that reads first cannot take the lock later)
    finally:
        reading_only.reset(token)
    if not active:  # rights are checked when the job runs, against what is stored then
        raise jobs.Refused("Tài khoản đã gửi tệp này không còn hoạt động — không nhận tệp",
                           json.dumps({"message": "account inactive", "details": []}).encode())
    try:
        return work(who, jobs.read_input(job.args["input"]))
    except (Invalid, Conflict, Forbidden, NotFound) as exc:
        db.session.rollback()
        raise _refused(exc) from None


def interactive(data: bytes) -> bool:
    return len(data) <= current_app.config.get("UPLOAD_INTERACTIVE_BYTES", 1_000_000)


def enqueue_upload(*, user: User, regime: str, agency: str, period: str, data: bytes, file_name: str,
                   revision: int | None) -> Job:
    """Queue the upload of `data` and commit: the caller has opened the report for writing (its
    scope checked against what is stored); the worker checks it again when it runs."""
    args = {"regime": regime, "agency": agency, "period": period, "input": jobs.keep_input(data, user=user), "bytes": len(data),
            "file_name": (file_name or "upload.xlsx")[:255], "revision": revision, "user": user.id}
    job = jobs.enqueue(kind="upload", args=args, user=user, max_attempts=3)
    db.session.commit()
    return job


@jobs.handler("upload")
def _upload(job: Job, progress: jobs.Progress) -> jobs.Result:
    from . import uploads
    from .submissions import open_report

    a = job.args

    def work(who: User, data: bytes):
        # read the file first, in a transaction that only reads: on SQLite the write lock is taken
        # only to save — every clerk's save would otherwise wait for this file's reading
        token = reading_only.set(True)
        try:
            report = open_report(user=who, regime_code=a["regime"], agency_code=a["agency"], period_key=a["period"])
            book = uploads.read_file(report, data, a["file_name"])
            db.session.commit()
        finally:
            reading_only.reset(token)
        return uploads.upload(user=who, regime_code=a["regime"], agency_code=a["agency"], period_key=a["period"], data=data,
                              file_name=a["file_name"], revision=a["revision"], commit=False, book=book)

    result = _read_as_sender(job, progress, "Đang đọc và kiểm tra tệp", work)
    data = json.dumps({"submission": result.submission.id, "version": result.version.number,
                       "findings": [f.as_dict() for f in result.findings]}, ensure_ascii=False, default=str).encode()
    # no commit here: the new version and the job's "done" commit together (jobs.run)
    return jobs.Result(data, "upload.json", f"Đã nhận tệp {a['file_name']}: bản nháp phiên bản {result.version.number}")


def zip_interactive(data: bytes) -> bool:
    return len(data) <= current_app.config.get("IMPORT_INTERACTIVE_BYTES", 2_000_000)


def enqueue_catalogue_zip(*, user: User, data: bytes, file_name: str) -> Job:
    """Queue the import of a catalogue zip (the same checks as in the request, run by the worker
    against what is stored then) and commit. Loading is idempotent (a regime whose content did not
    change is left as it is), so a retry after a lost worker changes nothing twice."""
    if not user.has_role(Role.DESIGNER):
        raise Forbidden("Chỉ người thiết kế chế độ báo cáo được nhập chế độ báo cáo")
    args = {"input": jobs.keep_input(data, user=user), "bytes": len(data), "file_name": (file_name or "catalogue.zip")[:255], "user": user.id}
    job = jobs.enqueue(kind="catalogue_zip", args=args, user=user, max_attempts=3)
    db.session.commit()
    return job


@jobs.handler("catalogue_zip")
def _catalogue_zip(job: Job, progress: jobs.Progress) -> jobs.Result:
    from . import designer

    summary = _read_as_sender(job, progress, "Đang kiểm tra danh mục trong tệp", lambda who, data: designer.import_zip(user=who, data=data))
    data = {"created": summary.regimes_created, "versions": summary.versions_created, "unchanged": summary.unchanged}
    return jobs.Result(json.dumps(data, ensure_ascii=False).encode(), "catalogue.json",
                       f"Đã nhập: tạo mới {len(summary.regimes_created)}, phiên bản mới {len(summary.versions_created)}, "
                       f"không đổi {len(summary.unchanged)}")


def status(*, user: User, job_id: int, kind: str = "upload") -> dict:
    """What the upload's page shows: its state and step, and once it ended, the version made or
    every problem found."""
    job = jobs.get(user=user, job_id=job_id)
    if job.kind != kind or job.requested_by_id != user.id:  # the uploader's page (an administrator has /admin/jobs)
        raise NotFound("Không có tệp tải lên này")
    state = {"job": job.id, "state": {"queued": "running", "running": "running"}.get(job.status, job.status),
             "step": job.step, **{k: job.args.get(k) for k in ("regime", "agency", "period", "file_name")},
             "message": "", "details": [], "version": None, "summary": {}}
    if job.status in ("done", "failed"):
        try:
            body = json.loads(jobs.result(user=user, job_id=job_id, failed_too=True)[0] or b"{}")
        except (NotFound, ValueError):
            body = {}
        state.update(message=body.get("message") or job.error, details=body.get("details") or [], version=body.get("version"),
                     summary={k: body.get(k) or [] for k in ("created", "versions", "unchanged")})
    return state
