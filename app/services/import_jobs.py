"""Imports and rebuilds as durable background jobs (app/services/jobs.py).

An SDMX or DHIS2 file above `IMPORT_INTERACTIVE_BYTES` is not imported in the request: its bytes
are kept in the shared job storage under their digest, and a job "import" (one per user, format,
regime, file and dry-run) imports them on a worker. The import and the job's "done" commit in one
transaction: a worker killed mid-import leaves nothing behind, and the retry on another worker
imports once. A file the import refuses (bad content, someone else's agency) is not retried: the job
fails at once, the reasons kept as its result. `flask aggregate rebuild --background` runs the
roll-up rebuild as a job "rebuild" the same way.
"""
from __future__ import annotations

import json

from flask import current_app

from app.extensions import db
from app.models import Job, User

from . import jobs
from .errors import Forbidden, Invalid


def interactive(body: bytes) -> bool:
    return len(body) <= current_app.config.get("IMPORT_INTERACTIVE_BYTES", 2_000_000)


def enqueue_import(*, user: User, fmt: str, regime: str, body: bytes, content_type: str, dry_run: bool) -> Job:
    """Keep the file in the shared storage, queue its import (the caller commits)."""
    digest = jobs.keep_input(body, user=user)
    args = {"format": fmt, "regime": regime, "content_type": content_type[:100], "dry_run": dry_run, "input": digest,
            "bytes": len(body), "user": user.id}
    return jobs.enqueue(kind="import", args=args, user=user, max_attempts=3)


@jobs.handler("import")
def _import(job: Job, progress: jobs.Progress) -> jobs.Result:
    from . import interchange

    a = job.args
    progress(f"Đang đọc tệp {a['format'].upper()} ({a['bytes']:,} byte)".replace(",", "."))
    body = jobs.read_input(a["input"])
    who = db.session.get(User, job.requested_by_id)
    if who is None or not who.active:  # rights are checked when the job runs, against what is stored then
        raise jobs.Refused("Tài khoản đã yêu cầu nhập tệp này không còn hoạt động — không nhập",
                           json.dumps({"error": {"message": "account inactive", "details": []}}).encode())
    try:
        if a["format"] == "sdmx":
            result = interchange.import_sdmx(user=who, text=body.decode("utf-8-sig", errors="replace"), dry_run=a["dry_run"], commit=False)
        else:
            result = interchange.import_dhis2(user=who, regime=a["regime"], body=body, content_type=a["content_type"],
                                              dry_run=a["dry_run"], commit=False)
    except (Invalid, Forbidden) as exc:
        db.session.rollback()
        details = getattr(exc, "details", None) or []
        raise jobs.Refused(str(exc), json.dumps({"error": {"message": str(exc), "details": details}}, ensure_ascii=False,
                                                 default=str).encode()) from None
    data = json.dumps({"dry_run": result.dry_run, "reports": result.reports}, ensure_ascii=False).encode()
    # no commit here: the imported versions and the job's "done" commit together (jobs.run)
    return jobs.Result(data, "import.json", f"Đã nhập {len(result.reports)} báo cáo" if not result.dry_run else "Đã thử nhập (không lưu)")


@jobs.handler("rebuild")
def _rebuild(job: Job, progress: jobs.Progress) -> jobs.Result:
    from . import aggregation_rebuild

    def step(done: int, total: int) -> None:
        progress(f"Đã tổng hợp lại {done}/{total} (chế độ, kỳ)")

    a = job.args
    summary = aggregation_rebuild.rebuild(regime=a.get("regime"), period=a.get("period"), progress=step)
    note = (f"Đã tổng hợp lại {summary.scopes} (chế độ, kỳ): {summary.records} bản ghi, {summary.aggregates} dòng tổng hợp; "
            f"{summary.written} dòng được ghi lại")
    return jobs.Result(json.dumps({"scopes": summary.scopes, "records": summary.records, "aggregates": summary.aggregates,
                                   "written": summary.written}).encode(), "rebuild.json", note)
