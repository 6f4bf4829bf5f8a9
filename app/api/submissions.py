"""Submissions for machine-to-machine reporting: create drafts (JSON or Excel), submit, approve,
return, reopen, read versions and verify seals. Same services and rules as the web pages."""
from __future__ import annotations

from io import BytesIO

from flask import request, send_file
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.domain.deadlines import VN_TZ
from app.domain.layout import dkey
from app.services import decisions as decisions_svc
from app.services import listings as listings_svc
from app.services import sending as sending_svc
from app.services import submissions as svc
from app.services import uploads as uploads_svc
from app.services.errors import Invalid

from . import csrf_for_cookie_sessions, require_login
from .common import envelope, page_of
from .jobs import JobOut
from .schemas import ApiErrorSchema, PageArgs

blp = Blueprint("submissions", __name__, description="Báo cáo gửi — submissions")
blp.before_request(require_login)


blp.before_request(csrf_for_cookie_sessions)


# ---------------------------------------------------------------------------------- schemas
class ValueIn(Schema):
    indicator = fields.String(required=True, validate=validate.Length(min=1, max=40))
    disaggregation = fields.Dict(keys=fields.String(validate=validate.Length(max=40)),
                                 values=fields.String(validate=validate.Length(max=40)), load_default=dict)
    value = fields.Raw(allow_none=True, load_default=None,
                       metadata={"description": "a number, or a string such as \"1.234.567,5\"; text for text indicators"})
    estimate = fields.Boolean(load_default=False)
    comment = fields.String(load_default="", validate=validate.Length(max=4000))


class SubmissionIn(Schema):
    regime = fields.String(required=True, validate=validate.Length(min=1, max=40))
    agency = fields.String(required=True, validate=validate.Length(min=1, max=40))
    period = fields.String(required=True, validate=validate.Length(min=1, max=40))
    values = fields.List(fields.Nested(ValueIn), load_default=list, validate=validate.Length(max=200_000))
    outline = fields.Dict(keys=fields.String(validate=validate.Length(max=40)), values=fields.String(), load_default=dict)
    revision = fields.Integer(strict=True, load_default=None, allow_none=True)


class UploadIn(Schema):
    regime = fields.String(required=True, validate=validate.Length(min=1, max=40))
    agency = fields.String(required=True, validate=validate.Length(min=1, max=40))
    period = fields.String(required=True, validate=validate.Length(min=1, max=40))


class UploadFile(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class ReasonIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    revision = fields.Integer(strict=True, load_default=None, allow_none=True)


class RevisionIn(Schema):
    revision = fields.Integer(strict=True, load_default=None, allow_none=True)


class ListArgs(PageArgs):
    regime = fields.String(load_default="", validate=validate.Length(max=40))
    period = fields.String(load_default="", validate=validate.Length(max=40))
    agency = fields.String(load_default="", validate=validate.Length(max=40))
    status = fields.String(load_default="", validate=validate.OneOf(["", "draft", "submitted", "returned", "approved"]))


class TemplateArgs(Schema):
    agency = fields.String(required=True, validate=validate.Length(min=1, max=40))
    period = fields.String(required=True, validate=validate.Length(min=1, max=40))


class ValueOut(Schema):
    indicator = fields.String()
    disaggregation = fields.Dict()
    value = fields.Raw(metadata={"description": "numbers as decimal strings (exact), text as text"})
    estimate = fields.Boolean()
    comment = fields.String()


class VersionOut(Schema):
    number = fields.Integer()
    status = fields.String()
    source = fields.String()
    file_name = fields.String(allow_none=True)
    regime_version = fields.Integer()
    created_by = fields.String()
    created_at = fields.DateTime()
    saved_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)
    on_time = fields.Boolean(allow_none=True)
    seal_hash = fields.String(allow_none=True)
    seal_signature = fields.String(allow_none=True)
    seal_public_key = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_reason = fields.String(allow_none=True)


class SubmissionOut(Schema):
    id = fields.Integer()
    regime = fields.String()
    agency = fields.String()
    agency_name = fields.String()
    period = fields.String()
    receiver = fields.String(allow_none=True)
    status = fields.String()
    revision = fields.Integer()
    deadline = fields.DateTime()
    first_submitted_at = fields.DateTime(allow_none=True)
    on_time = fields.Boolean(allow_none=True)
    approved_version = fields.Integer(allow_none=True)
    reopened = fields.Boolean()


class SubmissionDetail(SubmissionOut):
    versions = fields.List(fields.Nested(VersionOut))
    values = fields.List(fields.Nested(ValueOut), metadata={"description": "values of the latest version"})
    outline = fields.Dict()
    warnings = fields.List(fields.Dict())


class VerifyOut(Schema):
    version = fields.Integer()
    sealed = fields.Boolean()
    valid = fields.Boolean()
    hash_matches = fields.Boolean()
    signature_valid = fields.Boolean()
    stored_hash = fields.String(allow_none=True)
    computed_hash = fields.String(allow_none=True)
    public_key = fields.String(allow_none=True)


# ---------------------------------------------------------------------------------- payloads
def _local(dt):
    return dt.astimezone(VN_TZ) if dt is not None else None


def summary(sub) -> dict:
    return {"id": sub.id, "regime": sub.regime.code, "agency": sub.agency.code, "agency_name": sub.agency.name,
            "period": sub.period_key, "receiver": sub.receiver.code if sub.receiver else None, "status": sub.status,
            "revision": sub.revision, "deadline": _local(sub.deadline_at), "first_submitted_at": _local(sub.first_submitted_at),
            "on_time": sub.on_time, "approved_version": sub.approved_version, "reopened": sub.reopened_at is not None}


def detail(sub, warnings=None) -> dict:
    latest = sub.latest
    out = summary(sub)
    out["versions"] = [{
        "number": v.number, "status": v.status, "source": v.source, "file_name": v.file_name,
        "regime_version": v.regime_version.version, "created_by": v.created_by.username, "created_at": _local(v.created_at),
        "saved_at": _local(v.saved_at), "submitted_at": _local(v.submitted_at), "on_time": v.on_time, "seal_hash": v.seal_hash,
        "seal_signature": v.seal_signature, "seal_public_key": v.seal_key.public_key if v.seal_key else None,
        "decided_at": _local(v.decided_at), "decision_reason": v.decision_reason} for v in sub.versions]
    out["values"] = [{"indicator": v.indicator, "disaggregation": dict(p.split("=", 1) for p in v.dkey.split(";")) if v.dkey else {},
                      "value": (format(v.number, "f") if v.number is not None else None) if v.text is None else v.text,
                      "estimate": v.estimate, "comment": v.comment} for v in (latest.values if latest else [])]
    out["outline"] = dict(latest.outline or {}) if latest else {}
    out["warnings"] = warnings or []
    return out


def _raw(values: list[dict]) -> dict:
    raw, dupes = {}, []
    for i, v in enumerate(values):
        key = (v["indicator"], dkey(v["disaggregation"]))
        if key in raw:
            dupes.append({"code": "duplicate", "where": f"values[{i}]", "indicator": v["indicator"],
                          "message": f"Ô {v['indicator']} {v['disaggregation'] or ''} được gửi hai lần"})
        raw[key] = (v["value"], v["estimate"], v["comment"])
    if dupes:
        raise Invalid("Dữ liệu gửi lên có ô trùng", details=dupes)
    return raw


# ---------------------------------------------------------------------------------- routes
@blp.route("", methods=["POST"])
@blp.arguments(SubmissionIn)
@blp.response(201, SubmissionDetail)
@blp.alt_response(422, schema=ApiErrorSchema)
@blp.alt_response(409, schema=ApiErrorSchema)
def create(data):
    """Store a new draft version of (regime, agency, period); 422 lists every problem."""
    report = svc.open_report(user=current_user, regime_code=data["regime"], agency_code=data["agency"],
                             period_key=data["period"], for_write=True)
    raw = _raw(data["values"])
    positions = {(v["indicator"], dkey(v["disaggregation"])): f"values[{i}]" for i, v in enumerate(data["values"])}
    outline = data["outline"] or report.outline()
    result = svc.save(user=current_user, report=report, raw=raw, outline=outline, revision=data["revision"],
                      source="api", new_version=True, refs=positions)
    return detail(result.submission, [f.as_dict() for f in result.findings])


@blp.route("/upload", methods=["POST"])
@blp.arguments(UploadIn, location="form")
@blp.arguments(UploadFile, location="files")
@blp.response(201, SubmissionDetail)
@blp.alt_response(202, schema=JobOut, description="A large workbook: read by a background job")
@blp.alt_response(422, schema=ApiErrorSchema)
def upload(form, files):
    """A filled Excel template; same all-or-nothing contract as the web upload. A workbook above
    UPLOAD_INTERACTIVE_BYTES is read by a background job: 202 and `Location: /api/v1/jobs/<id>`
    (its result: the version made, or every problem by sheet and cell)."""
    from app.services import upload_jobs

    from .jobs import queued

    f = files["file"]
    data = f.read()
    if not upload_jobs.interactive(data):
        svc.open_report(user=current_user, regime_code=form["regime"], agency_code=form["agency"], period_key=form["period"],
                        for_write=True)  # scope checked now, against what is stored (and again by the worker)
        return queued(upload_jobs.enqueue_upload(user=current_user, regime=form["regime"], agency=form["agency"],
                                                 period=form["period"], data=data, file_name=f.filename or "upload.xlsx", revision=None))
    result = uploads_svc.upload(user=current_user, regime_code=form["regime"], agency_code=form["agency"], period_key=form["period"],
                        data=data, file_name=f.filename or "upload.xlsx")
    return detail(result.submission, [x.as_dict() for x in result.findings])


@blp.route("")
@blp.arguments(ListArgs, location="query")
@blp.response(200, envelope(SubmissionOut, "SubmissionPage"))
def list_(args):
    stmt = listings_svc.list_submissions(user=current_user, regime=args["regime"], period=args["period"], agency=args["agency"],
                                status=args["status"])
    page = page_of(stmt, args["page"], args["per_page"])
    page["items"] = [summary(s) for s in page["items"]]
    return page


@blp.route("/<int:sid>")
@blp.response(200, SubmissionDetail)
@blp.alt_response(404, schema=ApiErrorSchema)
def get(sid):
    report = svc.get_report(user=current_user, submission_id=sid)
    return detail(report.submission)


@blp.route("/<int:sid>/submit", methods=["POST"])
@blp.arguments(RevisionIn)
@blp.response(200, SubmissionDetail)
@blp.alt_response(422, schema=ApiErrorSchema)
def submit(data, sid):
    result = sending_svc.submit(user=current_user, submission_id=sid, revision=data["revision"])
    return detail(result.submission, [f.as_dict() for f in result.findings])


@blp.route("/<int:sid>/approve", methods=["POST"])
@blp.arguments(RevisionIn)
@blp.response(200, SubmissionDetail)
@blp.alt_response(422, schema=ApiErrorSchema)
def approve(data, sid):
    return detail(decisions_svc.approve(user=current_user, submission_id=sid, revision=data["revision"]))


@blp.route("/<int:sid>/return", methods=["POST"])
@blp.arguments(ReasonIn)
@blp.response(200, SubmissionDetail)
@blp.alt_response(422, schema=ApiErrorSchema)
def return_(data, sid):
    return detail(decisions_svc.return_(user=current_user, submission_id=sid, reason=data["reason"], revision=data["revision"]))


@blp.route("/<int:sid>/reopen", methods=["POST"])
@blp.arguments(ReasonIn)
@blp.response(200, SubmissionDetail)
@blp.alt_response(422, schema=ApiErrorSchema)
def reopen(data, sid):
    return detail(decisions_svc.reopen(user=current_user, submission_id=sid, reason=data["reason"]))


@blp.route("/<int:sid>/verify")
@blp.response(200, VerifyOut)
def verify(sid):
    """Whether the stored values still match the sealed hash, and the signature the agency's key."""
    number = request.args.get("version", "")
    v = listings_svc.verify(user=current_user, submission_id=sid, number=int(number) if number.isdigit() else None)
    return {"version": v.version, "sealed": v.sealed, "valid": v.ok, "hash_matches": v.hash_matches,
            "signature_valid": v.signature_valid, "stored_hash": v.stored_hash, "computed_hash": v.computed_hash,
            "public_key": v.public_key}


def template_response(regime: str, agency: str, period: str):
    data, name = uploads_svc.template(user=current_user, regime_code=regime, agency_code=agency, period_key=period)
    return send_file(BytesIO(data), download_name=name, as_attachment=True,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
