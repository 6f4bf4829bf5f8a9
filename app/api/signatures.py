"""Digital signatures in the API: the signed PDF of a submitted version and the verdict on it, with
who signed, when, with which certificate — the signing list of a report."""
from __future__ import annotations

from io import BytesIO

from flask import abort, send_file
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app.services import signing
from app.services import submissions as submissions_svc

from . import require_login
from .schemas import ApiErrorSchema

blp = Blueprint("signatures", __name__, description="Chữ ký số — signed reports and their verdicts")
blp.before_request(require_login)


class SignatureOut(Schema):
    submission = fields.Integer()
    version = fields.Integer()
    ok = fields.Boolean(metadata={"description": "every check passed"})
    message = fields.String(metadata={"description": "the verdict in Vietnamese"})
    problems = fields.List(fields.String())
    signers = fields.List(fields.String(), metadata={"description": "who signed, and when"})
    certificate_subject = fields.String()
    certificate_serial = fields.String()
    certificate_issuer = fields.String()
    signed_at = fields.DateTime()
    mode = fields.String(metadata={"description": "server | pkcs11 | remote | external"})


def _document(sid: int, number: int):
    report = submissions_svc.get_report(user=current_user, submission_id=sid)  # the reader's scope, on what is stored
    version = report.submission.version(number)
    doc = signing.document_of(version.id) if version is not None else None
    if doc is None:
        abort(404)
    return report, version, doc


@blp.route("/<int:sid>/versions/<int:number>")
@blp.response(200, SignatureOut)
@blp.alt_response(404, schema=ApiErrorSchema)
def get(sid, number):
    """The verdict on a version's signed PDF, verified now, and its signer's certificate."""
    report, version, doc = _document(sid, number)
    verdict, _checks = signing.verify_bytes(doc.pdf, agency=report.agency)
    return {"submission": sid, "version": number, "ok": verdict.ok, "message": verdict.message, "problems": verdict.problems,
            "signers": verdict.signers, "certificate_subject": doc.signer_subject, "certificate_serial": doc.certificate_serial,
            "certificate_issuer": doc.certificate_issuer, "signed_at": doc.signed_at, "mode": doc.mode}


@blp.route("/<int:sid>/versions/<int:number>/signed.pdf")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/pdf")
@blp.alt_response(404, schema=ApiErrorSchema)
def pdf(sid, number):
    """The signed PDF as stored."""
    _report, _version, doc = _document(sid, number)
    return send_file(BytesIO(doc.pdf), download_name=f"bao-cao-{sid}-v{number}-ky-so.pdf", mimetype="application/pdf")
