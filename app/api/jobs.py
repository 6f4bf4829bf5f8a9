"""Background jobs as data: the state of a job the caller asked for (an import of a large file, a
PDF) and its result once done — from any app server."""
from __future__ import annotations

from flask import Response
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app.services import jobs as svc

from . import require_login
from .schemas import ApiErrorSchema

blp = Blueprint("jobs", __name__, description="Việc chạy nền — trạng thái và kết quả")
blp.before_request(require_login)

STATE = {"queued": "queued", "running": "running", "done": "done", "failed": "failed"}


class JobOut(Schema):
    job = fields.Integer()
    kind = fields.String()
    status = fields.String(metadata={"description": "queued | running | done | failed"})
    step = fields.String()
    error = fields.String()
    attempts = fields.Integer()
    result_url = fields.String(allow_none=True)


def as_data(job) -> dict:
    return {"job": job.id, "kind": job.kind, "status": STATE.get(job.status, job.status), "step": job.step, "error": job.error,
            "attempts": job.attempts, "result_url": f"/api/v1/jobs/{job.id}/result" if job.result_path else None}


def queued(job):
    """A request whose work went to a background job: 202, the job, and where to follow it (the
    job is committed by the service that queued it or here)."""
    from flask import jsonify

    from app.extensions import db

    db.session.commit()
    return jsonify(as_data(job)), 202, {"Location": f"/api/v1/jobs/{job.id}"}


@blp.route("/<int:job_id>")
@blp.response(200, JobOut)
@blp.alt_response(403, schema=ApiErrorSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
def job(job_id: int):
    """A job the caller asked for (an administrator: any job)."""
    return as_data(svc.get(user=current_user, job_id=job_id))


@blp.route("/<int:job_id>/result")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/octet-stream")
@blp.alt_response(404, schema=ApiErrorSchema)
def result(job_id: int):
    """What the job produced (an import's report as JSON; for a refused import, the reasons)."""
    data, name = svc.result(user=current_user, job_id=job_id, failed_too=True)
    kind = {"json": "application/json", "csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}.get(name.rsplit(".", 1)[-1],
                                                                                                      "application/octet-stream")
    return Response(data, mimetype=kind, headers={"Content-Disposition": f'attachment; filename="{name}"'})
