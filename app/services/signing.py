"""Digital signatures (ký số) of reports: signing each submitted version's PDF (and the
consolidated reports), and the verdict on a signed PDF — on receipt, before a decision, and on
demand for any PDF brought from outside; the signing list; signing with an official's own tool
(external signing). The certificates and keys it signs with are pki.py's."""
from __future__ import annotations

import hashlib

from flask import current_app
from sqlalchemy import select

from app.adapters import signatures as sig
from app.domain import signing as rules
from app.extensions import db
from app.models import Agency, SignedDocument, User
from app.models.base import utcnow

from .errors import Invalid, NotFound
from .pki import bounded, certificates_of, revocation_lists, signer_for, trust_anchors


# ----------------------------------------------------------------------------------- signing
def sign_version(*, report, version, user: User) -> SignedDocument | None:
    """Render the submitted version as its Decree-30 PDF and sign it — with the sender's own
    certificate when the server can sign with it (a leader sending the consolidated report), else
    the agency's. None when neither exists (the version stays sealed, not signed)."""
    from .exports import version_pdf

    signing = signer_for(report.agency.id, user.id)
    if signing is None:
        return None
    with signing:
        pdf = signing.sign(version_pdf(report, version), name=user.full_name,
                           reason=f"Gửi báo cáo {report.title} — {report.period_label}", location=report.agency.name)
    cert = signing.row
    doc = SignedDocument(version_id=version.id, pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest(), signer_subject=cert.subject,
                         signer_fingerprint=cert.fingerprint, certificate_serial=cert.serial, certificate_issuer=cert.issuer,
                         mode=signing.mode, level=sig.level_of(pdf), signed_by_id=user.id)
    db.session.add(doc)
    return doc


def sign_consolidated(pdf: bytes, *, agency: Agency, user: User, title: str) -> bytes | None:
    """A consolidated report (a province's, the national one) signed for the agency that issues it
    — only by a member of that agency, with their certificate or the agency's. None: not signed."""
    if user.agency_id != agency.id:
        return None
    signing = signer_for(agency.id, user.id)
    if signing is None:
        return None
    with signing:
        return signing.sign(pdf, name=user.full_name, reason=f"Ban hành {title}", location=agency.name)


# -------------------------------------------------------------------------------- verification
def verify_bytes(data: bytes, *, agency: Agency | None = None, anchors=None, crls=None) -> tuple[rules.Verdict, list[sig.SignatureCheck]]:
    """The verdict on a signed PDF: integrity, a chain to an installed trust anchor valid at signing
    time, revocation (CRL files; OCSP/CRL fetched when PKI_ALLOW_FETCHING), and — for a report of
    `agency` — that the signer's certificate is linked to it."""
    try:
        checks = sig.verify_pdf(bounded(data, "Tệp PDF"), trust_roots=trust_anchors() if anchors is None else anchors,
                                crls=revocation_lists() if crls is None else crls,
                                allow_fetching=bool(current_app.config.get("PKI_ALLOW_FETCHING")))
    except sig.SignatureError as exc:
        return rules.Verdict(False, str(exc), [str(exc)]), []
    fingerprints = {c.fingerprint for c in certificates_of(agency.id)} if agency is not None else None
    return rules.verdict(checks, agency_fingerprints=fingerprints, agency_name=agency.name if agency else ""), checks


def document_of(version_id: int) -> SignedDocument | None:
    return db.session.scalar(select(SignedDocument).where(SignedDocument.version_id == version_id))


def verify_versions(versions) -> dict[int, rules.Verdict]:
    """The verdicts of several versions (an inbox page): one query for their PDFs, the trust
    anchors and revocation lists read once. Versions without a signed PDF are left out."""
    versions = {v.id: v for v in versions}
    docs = db.session.scalars(select(SignedDocument).where(SignedDocument.version_id.in_(list(versions)))).all() if versions else []
    if not docs:
        return {}
    anchors, crls = trust_anchors(), revocation_lists()
    return {d.version_id: verify_bytes(d.pdf, agency=versions[d.version_id].submission.agency, anchors=anchors, crls=crls)[0]
            for d in docs}


def verify_version(version) -> rules.Verdict | None:
    """The verdict on a submitted version's signed PDF as stored now (None: not signed)."""
    doc = document_of(version.id)
    if doc is None:
        return None
    return verify_bytes(doc.pdf, agency=version.submission.agency)[0]


# ---------------------------------------------------------------------------------- signing list
def signing_list(*, user: User, agency: str = ""):
    """Danh mục ký: who signed which report, when, with which certificate — the reports the user may
    read (the same scope as the report lists), newest first."""
    from app.models import Submission, SubmissionVersion

    from .listings import list_submissions

    readable = list_submissions(user=user, agency=agency[:40]).with_only_columns(Submission.id).order_by(None)
    from sqlalchemy.orm import joinedload

    return (select(SignedDocument)
            .join(SubmissionVersion, SubmissionVersion.id == SignedDocument.version_id)
            .join(Submission, Submission.id == SubmissionVersion.submission_id)
            .where(Submission.id.in_(readable))
            .options(joinedload(SignedDocument.version).joinedload(SubmissionVersion.submission).joinedload(Submission.agency),
                     joinedload(SignedDocument.version).joinedload(SubmissionVersion.submission).joinedload(Submission.regime))
            .order_by(SignedDocument.signed_at.desc(), SignedDocument.id.desc()))


# -------------------------------------------------------------------------- external signing
PENDING_MINUTES = 30
MAX_CERT = 20_000
MAX_CHAIN = 5


def _pack(certs: list[bytes]) -> bytes:
    return b"".join(len(c).to_bytes(4, "big") + c for c in certs)


def _unpack(data: bytes) -> list[bytes]:
    out, i = [], 0
    while i < len(data):
        n = int.from_bytes(data[i:i + 4], "big")
        out.append(data[i + 4:i + 4 + n])
        i += 4 + n
    return out


def _version_to_sign(user: User, submission_id: int, number: int):
    from .submissions import WRITERS, get_report

    report = get_report(user=user, submission_id=submission_id)
    if user.agency_id != report.agency.id or not user.has_role(*WRITERS):
        from .errors import Forbidden

        raise Forbidden("Chỉ người của đơn vị báo cáo được ký báo cáo của đơn vị mình")
    version = report.submission.version(number)
    if version is None:
        raise NotFound(f"Báo cáo không có phiên bản {number}")
    if not version.sealed:
        raise Invalid("Chỉ ký phiên bản đã gửi (đã niêm phong)")
    if document_of(version.id) is not None:
        raise Invalid("Phiên bản này đã được ký số")
    return report, version


def prepare_external(*, user: User, submission_id: int, number: int, certificate: bytes, chain: list[bytes]) -> tuple[int, bytes]:
    """Step 1 of signing with an official's own tool: the version's PDF is prepared with a signature
    field; returns (request id, the bytes the tool must sign). The certificate must be linked to
    the reporting agency (flask pki link)."""
    from .exports import version_pdf

    report, version = _version_to_sign(user, submission_id, number)
    if not certificate or len(certificate) > MAX_CERT or len(chain) > MAX_CHAIN or any(len(c) > MAX_CERT for c in chain):
        raise Invalid(f"Chứng thư số tối đa {MAX_CERT // 1000} KB, chuỗi chứng thư tối đa {MAX_CHAIN} chứng thư")
    try:
        info = sig.CertInfo.of(sig.load_certificate(certificate))
    except sig.SignatureError as exc:
        raise Invalid(str(exc)) from None
    if info.fingerprint not in {c.fingerprint for c in certificates_of(report.agency.id)}:
        raise Invalid(f"Chứng thư số “{info.common_name}” chưa được gắn với {report.agency.name}: nhờ quản trị hệ thống gắn "
                      "(flask pki link) trước khi ký")
    try:
        prepared = sig.prepare_external(version_pdf(report, version), certificate, chain, name=user.full_name,
                                        reason=f"Gửi báo cáo {report.title} — {report.period_label}", location=report.agency.name)
    except sig.SignatureError as exc:
        raise Invalid(str(exc)) from None
    from app.models import PendingSignature

    row = PendingSignature(version_id=version.id, certificate=certificate, chain=_pack(chain), prepared_pdf=prepared.pdf,
                           document_digest=prepared.document_digest, region_start=prepared.region_start,
                           region_end=prepared.region_end, signed_attrs=prepared.signed_attrs, created_by_id=user.id)
    db.session.add(row)
    db.session.commit()
    return row.id, prepared.signed_attrs


def complete_external(*, user: User, submission_id: int, number: int, request_id: int, signature: bytes) -> rules.Verdict:
    """Step 2: the tool's signature value is embedded; the signed PDF is kept only if its verdict is
    valid (a wrong key or wrong bytes signed is refused with the reason)."""
    from datetime import timedelta

    from app.models import PendingSignature

    report, version = _version_to_sign(user, submission_id, number)
    row = db.session.get(PendingSignature, request_id)
    if row is None or row.version_id != version.id or row.created_by_id != user.id:
        raise NotFound("Không có yêu cầu ký này")
    if row.created_at < utcnow() - timedelta(minutes=PENDING_MINUTES):
        db.session.delete(row)
        db.session.commit()
        raise Invalid(f"Yêu cầu ký đã quá {PENDING_MINUTES} phút; hãy bắt đầu lại")
    if not signature or len(signature) > 4096:
        raise Invalid("Giá trị chữ ký không hợp lệ")
    prepared = sig.Prepared(row.prepared_pdf, row.document_digest, row.region_start, row.region_end, row.signed_attrs)
    try:
        pdf = sig.complete_external(prepared, row.certificate, _unpack(row.chain), signature)
    except sig.SignatureError as exc:
        raise Invalid(str(exc)) from None
    verdict, _checks = verify_bytes(pdf, agency=report.agency)
    if not verdict.ok:
        raise Invalid(f"Không nhận chữ ký: {verdict.message}", details=[{"code": "signature", "message": p} for p in verdict.problems])
    info = sig.CertInfo.of(sig.load_certificate(row.certificate))
    db.session.add(SignedDocument(version_id=version.id, pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest(), signer_subject=info.subject[:500],
                                  signer_fingerprint=info.fingerprint, certificate_serial=info.serial[:80],
                                  certificate_issuer=info.issuer[:255], mode="external", level=sig.level_of(pdf),
                                  signed_by_id=user.id))
    db.session.delete(row)
    db.session.commit()
    return verdict
