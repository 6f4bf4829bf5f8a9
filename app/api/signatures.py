"""Digital signatures in the API: the signed PDF of a submitted version and the verdict on it, with
who signed, when, with which certificate — the signing list of a report."""
from __future__ import annotations

from io import BytesIO

from flask import abort, send_file
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.services import signing
from app.services import submissions as submissions_svc

from . import csrf_for_cookie_sessions, require_login
from .schemas import ApiErrorSchema

blp = Blueprint("signatures", __name__, description="Chữ ký số — signed reports and their verdicts")
blp.before_request(require_login)
blp.before_request(csrf_for_cookie_sessions)


class PrepareIn(Schema):
    certificate = fields.String(required=True, validate=validate.Length(min=1, max=30_000),
                                metadata={"description": "the signer's certificate, base64 DER"})
    chain = fields.List(fields.String(validate=validate.Length(max=30_000)), load_default=list, validate=validate.Length(max=5),
                        metadata={"description": "intermediate CA certificates, base64 DER"})


class PrepareOut(Schema):
    request = fields.Integer(metadata={"description": "pass it back with the signature"})
    data_to_sign = fields.String(metadata={"description": "base64 DER of the CMS signed attributes: sign these bytes "
                                                          "with SHA-256 and the key (RSA PKCS#1 v1.5 or ECDSA)"})
    digest_algorithm = fields.String()
    expires_in_minutes = fields.Integer()


class CompleteIn(Schema):
    request = fields.Integer(required=True, strict=True)
    signature = fields.String(required=True, validate=validate.Length(min=1, max=6000),
                              metadata={"description": "the signature value, base64"})


def _b64(text: str, what: str) -> bytes:
    import base64
    import binascii

    from app.services.errors import Invalid

    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(f"{what}: không phải base64") from None


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
    level = fields.String(metadata={"description": "PAdES baseline level: B-B, B-T (timestamped), B-LT (revocation information embedded)"})


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
    return _signature_out(sid, number)


def _signature_out(sid: int, number: int) -> dict:
    report, _version, doc = _document(sid, number)
    verdict, _checks = signing.verify_bytes(doc.pdf, agency=report.agency)
    return {"submission": sid, "version": number, "ok": verdict.ok, "message": verdict.message, "problems": verdict.problems,
            "signers": verdict.signers, "certificate_subject": doc.signer_subject, "certificate_serial": doc.certificate_serial,
            "certificate_issuer": doc.certificate_issuer, "signed_at": doc.signed_at, "mode": doc.mode,
            "level": doc.level}


@blp.route("/<int:sid>/versions/<int:number>/signed.pdf")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/pdf")
@blp.alt_response(404, schema=ApiErrorSchema)
def pdf(sid, number):
    """The signed PDF as stored."""
    _report, _version, doc = _document(sid, number)
    return send_file(BytesIO(doc.pdf), download_name=f"bao-cao-{sid}-v{number}-ky-so.pdf", mimetype="application/pdf")


@blp.route("/<int:sid>/versions/<int:number>/external/prepare", methods=["POST"])
@blp.arguments(PrepareIn)
@blp.response(201, PrepareOut)
@blp.alt_response(422, schema=ApiErrorSchema)
def external_prepare(data, sid, number):
    """Signing with an official's own tool (USB token), step 1: the server prepares the version's PDF
    and answers what the tool must sign. Step 2 is `…/external/complete` within 30 minutes."""
    request_id, to_sign = signing.prepare_external(user=current_user, submission_id=sid, number=number,
                                                   certificate=_b64(data["certificate"], "certificate"),
                                                   chain=[_b64(c, "chain") for c in data["chain"]])
    import base64

    return {"request": request_id, "data_to_sign": base64.b64encode(to_sign).decode(), "digest_algorithm": "sha256",
            "expires_in_minutes": signing.PENDING_MINUTES}


@blp.route("/<int:sid>/versions/<int:number>/external/complete", methods=["POST"])
@blp.arguments(CompleteIn)
@blp.response(201, SignatureOut)
@blp.alt_response(422, schema=ApiErrorSchema)
def external_complete(data, sid, number):
    """Step 2: the signature value the tool made; the signed PDF is kept when its verdict is valid."""
    signing.complete_external(user=current_user, submission_id=sid, number=number, request_id=data["request"],
                              signature=_b64(data["signature"], "signature"))
    return _signature_out(sid, number)
