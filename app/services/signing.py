"""Digital signatures (ký số) of submitted reports: the trust anchors and revocation lists the
operator installs, the certificates linked to each agency, keystores the server holds for agencies,
signing each submitted version's PDF, and the verdict on a signed PDF — on receipt, before a
decision, and on demand for any PDF brought from outside.

Files live under instance/pki/: trust/ (CA certificates), crls/ (revocation lists for offline
networks), keystores/ (PKCS#12 re-encrypted with a passphrase derived from the server's secret)."""
from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from flask import current_app
from sqlalchemy import select

from app.adapters import signatures as sig
from app.domain import signing as rules
from app.extensions import db
from app.models import Agency, AgencyCertificate, SignedDocument, User
from app.models.base import utcnow

from .errors import Invalid, NotFound

MAX_FILE = 5 * 1024 * 1024


def _dir(name: str) -> Path:
    path = Path(current_app.config["INSTANCE_DIR"]) / "pki" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def _passphrase() -> bytes:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    return hashlib.sha256(b"baocao-keystore:" + secret).hexdigest().encode()


def _bounded(data: bytes, what: str) -> bytes:
    if not data or len(data) > MAX_FILE:
        raise Invalid(f"{what}: tệp rỗng hoặc lớn quá {MAX_FILE // 1048576} MB")
    return data


# --------------------------------------------------------------------------- trust and revocation
def add_trust_anchor(data: bytes) -> sig.CertInfo:
    """Install a CA certificate as a trust anchor (the Government Cipher Committee's root, a CA's)."""
    try:
        cert = sig.load_certificate(_bounded(data, "Chứng thư gốc"))
    except sig.SignatureError as exc:
        raise Invalid(str(exc)) from None
    if not cert.ca:
        raise Invalid("Chứng thư này không phải của tổ chức cung cấp dịch vụ chứng thực (không có basicConstraints CA)")
    info = sig.CertInfo.of(cert)
    (_dir("trust") / f"{info.fingerprint}.der").write_bytes(cert.dump())
    return info


def add_crl(data: bytes) -> int:
    """Install a revocation list (for networks where the CA cannot be reached); returns how many
    certificates it revokes."""
    try:
        crl = sig.load_crl(_bounded(data, "Danh sách thu hồi"))
    except sig.SignatureError as exc:
        raise Invalid(str(exc)) from None
    (_dir("crls") / f"{hashlib.sha256(crl.dump()).hexdigest()}.crl").write_bytes(crl.dump())
    return len(crl["tbs_cert_list"]["revoked_certificates"] or [])


def trust_anchors():
    return [sig.load_certificate(p.read_bytes()) for p in sorted(_dir("trust").glob("*.der"))]


def revocation_lists():
    return [sig.load_crl(p.read_bytes()) for p in sorted(_dir("crls").glob("*.crl"))]


# ------------------------------------------------------------------------- agencies' certificates
def agency_by_code(code: str) -> Agency:
    agency = db.session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        raise NotFound(f"Không có cơ quan mã “{code}”")
    return agency


def _link(agency: Agency, info: sig.CertInfo, keystore: str | None) -> AgencyCertificate:
    row = db.session.scalar(select(AgencyCertificate).where(AgencyCertificate.fingerprint == info.fingerprint))
    if row is not None and row.agency_id != agency.id:
        raise Invalid(f"Chứng thư số này đã gắn với đơn vị khác ({row.agency.code}); một chứng thư chỉ thuộc một đơn vị")
    row = row or AgencyCertificate(agency_id=agency.id, fingerprint=info.fingerprint)
    row.subject, row.serial, row.issuer = info.subject[:500], info.serial[:80], info.issuer[:255]
    row.not_before, row.not_after, row.retired_at = info.not_before, info.not_after, None
    row.keystore = keystore or row.keystore
    db.session.add(row)
    db.session.commit()
    return row


def link_certificate(*, agency_code: str, data: bytes) -> AgencyCertificate:
    """An official's or agency's certificate (signing with their own token): signatures made with it
    count as the agency's."""
    try:
        info = sig.CertInfo.of(sig.load_certificate(_bounded(data, "Chứng thư số")))
    except sig.SignatureError as exc:
        raise Invalid(str(exc)) from None
    return _link(agency_by_code(agency_code), info, None)


def add_keystore(*, agency_code: str, data: bytes, password: bytes) -> AgencyCertificate:
    """A PKCS#12 the server signs with for the agency: re-encrypted with the server's passphrase and
    kept in instance/pki/keystores; its certificate is linked to the agency."""
    agency = agency_by_code(agency_code)
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(_bounded(data, "Kho khóa"), password or None)
    except (ValueError, TypeError) as exc:
        raise Invalid(f"Không mở được kho khóa PKCS#12 (sai mật khẩu hoặc tệp hỏng): {str(exc)[:120]}") from None
    if key is None or cert is None:
        raise Invalid("Kho khóa PKCS#12 phải chứa khóa bí mật và chứng thư số")
    from cryptography.hazmat.primitives.serialization import Encoding

    info = sig.CertInfo.of(sig.load_certificate(cert.public_bytes(Encoding.DER)))
    name = f"{agency.code}-{info.fingerprint[:16]}.p12"
    (_dir("keystores") / name).write_bytes(pkcs12.serialize_key_and_certificates(
        agency.code.encode(), key, cert, extra or None, BestAvailableEncryption(_passphrase())))
    return _link(agency, info, name)


def certificates_of(agency_id: int) -> list[AgencyCertificate]:
    return list(db.session.scalars(select(AgencyCertificate).where(AgencyCertificate.agency_id == agency_id,
                                                                   AgencyCertificate.retired_at.is_(None))))


PKCS11 = "pkcs11:"  # AgencyCertificate.keystore of a key held in the configured token or HSM


def _token_session():
    """A session on the configured PKCS#11 token (SoftHSM2, a USB token, an HSM): PKI_PKCS11_LIB,
    PKI_PKCS11_TOKEN (its label), PKI_PKCS11_PIN."""
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign.pkcs11 import open_pkcs11_session

    cfg = current_app.config
    if not cfg.get("PKI_PKCS11_LIB"):
        raise sig.SignatureError("Chưa cấu hình thiết bị ký số (PKI_PKCS11_LIB)")
    try:
        return open_pkcs11_session(cfg["PKI_PKCS11_LIB"], token_criteria=TokenCriteria(label=cfg.get("PKI_PKCS11_TOKEN") or None),
                                   user_pin=cfg.get("PKI_PKCS11_PIN") or None)
    except Exception as exc:  # noqa: BLE001 — the PKCS#11 layer raises many types
        raise sig.SignatureError(f"Không mở được thiết bị ký số: {str(exc)[:200]}") from None


def link_token_key(*, agency_code: str, label: str) -> AgencyCertificate:
    """A key and certificate held in the configured token under `label` sign for the agency."""
    from pyhanko.sign.pkcs11 import PKCS11Signer

    session = _token_session()
    try:
        signer = PKCS11Signer(session, cert_label=label, key_label=label, other_certs_to_pull=None)
        cert = signer.signing_cert
    except Exception as exc:  # noqa: BLE001
        raise Invalid(f"Thiết bị ký số không có khóa và chứng thư nhãn “{label}”: {str(exc)[:160]}") from None
    finally:
        session.close()
    return _link(agency_by_code(agency_code), sig.CertInfo.of(cert), PKCS11 + label)


class _Signing:
    """The signer of an agency's keystore or token key, closed after use (a token session)."""

    def __init__(self, signer, row, session=None):
        self.signer, self.row, self.session = signer, row, session

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.session is not None:
            self.session.close()


def _signer_for(agency_id: int) -> _Signing | None:
    now = utcnow()
    rows = [c for c in certificates_of(agency_id) if c.keystore and c.not_before <= now <= c.not_after]
    if not rows:
        return None
    row = max(rows, key=lambda c: c.not_after)
    if row.keystore.startswith(PKCS11):
        from pyhanko.sign.pkcs11 import PKCS11Signer

        label = row.keystore[len(PKCS11):]
        session = _token_session()
        return _Signing(PKCS11Signer(session, cert_label=label, key_label=label, other_certs_to_pull=None), row, session)
    path = _dir("keystores") / row.keystore
    if not path.exists():
        return None
    return _Signing(sig.keystore_signer(path.read_bytes(), _passphrase()), row)


# ----------------------------------------------------------------------------------- signing
def sign_version(*, report, version, user: User) -> SignedDocument | None:
    """Render the submitted version as its Decree-30 PDF and sign it with the agency's keystore held
    by the server. None when the agency has none (the version stays sealed, not signed)."""
    from .exports import version_pdf

    signing = _signer_for(report.agency.id)
    if signing is None:
        return None
    with signing:
        pdf = sig.sign_pdf(version_pdf(report, version), signing.signer, name=user.full_name,
                           reason=f"Gửi báo cáo {report.title} — {report.period_label}", location=report.agency.name,
                           timestamp_url=current_app.config.get("PKI_TSA_URL") or None)
    cert = signing.row
    doc = SignedDocument(version_id=version.id, pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest(), signer_subject=cert.subject,
                         signer_fingerprint=cert.fingerprint, certificate_serial=cert.serial, certificate_issuer=cert.issuer,
                         mode="pkcs11" if cert.keystore.startswith(PKCS11) else "server", signed_by_id=user.id)
    db.session.add(doc)
    return doc


# -------------------------------------------------------------------------------- verification
def verify_bytes(data: bytes, *, agency: Agency | None = None, anchors=None, crls=None) -> tuple[rules.Verdict, list[sig.SignatureCheck]]:
    """The verdict on a signed PDF: integrity, a chain to an installed trust anchor valid at signing
    time, revocation (CRL files; OCSP/CRL fetched when PKI_ALLOW_FETCHING), and — for a report of
    `agency` — that the signer's certificate is linked to it."""
    try:
        checks = sig.verify_pdf(_bounded(data, "Tệp PDF"), trust_roots=trust_anchors() if anchors is None else anchors,
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


# ------------------------------------------------------------------------------------ the demo
def demo_pki(*, agency_codes: tuple[str, ...] = ("T01.SCT", "T01")) -> list[str]:
    """A demonstration CA (clearly named so) trusted by this instance, and a keystore for each agency
    given, so that the demo's reports are signed. Never for production: `flask pki demo` refuses when
    BAOCAO_ENV=production. Idempotent: agencies that already sign are left alone."""
    from datetime import timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = utcnow()
    ca_key_path = _dir("demo") / "ca.pem"
    from cryptography.hazmat.primitives import serialization

    if ca_key_path.exists():
        ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
        ca_cert = x509.load_pem_x509_certificate((_dir("demo") / "ca.crt").read_bytes())
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "baocao — CA trình diễn (không dùng thật)"),
                          x509.NameAttribute(NameOID.COMMON_NAME, "CA trình diễn baocao")])
        ca_cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(ca_key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=3650))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                                key_encipherment=False, data_encipherment=False, key_agreement=False,
                                                encipher_only=False, decipher_only=False), critical=True)
                   .sign(ca_key, hashes.SHA256()))
        ca_key_path.write_bytes(ca_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))
        (_dir("demo") / "ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    add_trust_anchor(ca_cert.public_bytes(serialization.Encoding.DER))
    done = []
    for code in agency_codes:
        agency = db.session.scalar(select(Agency).where(Agency.code == code))
        if agency is None or any(c.keystore for c in certificates_of(agency.id)):
            continue
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, agency.name),
                             x509.NameAttribute(NameOID.COMMON_NAME, agency.name)])
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
                .not_valid_after(now + timedelta(days=730))
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_cert_sign=False, crl_sign=False,
                                             key_encipherment=False, data_encipherment=False, key_agreement=False,
                                             encipher_only=False, decipher_only=False), critical=True)
                .sign(ca_key, hashes.SHA256()))
        p12 = pkcs12.serialize_key_and_certificates(code.encode(), key, cert, [ca_cert], BestAvailableEncryption(b"demo"))
        add_keystore(agency_code=code, data=p12, password=b"demo")
        done.append(code)
    return done


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
                                  certificate_issuer=info.issuer[:255], mode="external", signed_by_id=user.id))
    db.session.delete(row)
    db.session.commit()
    return verdict
