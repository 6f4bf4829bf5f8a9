"""The public-key infrastructure an instance trusts and signs with: the trust anchors and
revocation lists the operator installs, the certificates linked to agencies and officials, the
keystores the server holds for them (PKCS#12, re-encrypted), keys on a PKCS#11 token or HSM, and
credentials of a remote signing service (CSC API). signing.py signs and verifies with them.

Files live under instance/pki/: trust/ (CA certificates), crls/ (revocation lists for offline
networks), keystores/ (PKCS#12 re-encrypted with a passphrase derived from the server's secret)."""
from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from flask import current_app
from sqlalchemy import select

from app.adapters import signatures as sig
from app.extensions import db
from app.models import Agency, AgencyCertificate, User
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


def bounded(data: bytes, what: str) -> bytes:
    if not data or len(data) > MAX_FILE:
        raise Invalid(f"{what}: tệp rỗng hoặc lớn quá {MAX_FILE // 1048576} MB")
    return data


# --------------------------------------------------------------------------- trust and revocation
def add_trust_anchor(data: bytes) -> sig.CertInfo:
    """Install a CA certificate as a trust anchor (the Government Cipher Committee's root, a CA's)."""
    try:
        cert = sig.load_certificate(bounded(data, "Chứng thư gốc"))
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
        crl = sig.load_crl(bounded(data, "Danh sách thu hồi"))
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


def _holder(agency: Agency, username: str | None) -> User | None:
    """The official a certificate is linked to: an account of the same agency."""
    if not username:
        return None
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"Không có tài khoản “{username}”")
    if user.agency_id != agency.id:
        raise Invalid(f"Tài khoản “{username}” thuộc {user.agency.name}, không thuộc {agency.name}: chứng thư của một người chỉ "
                      "gắn với tài khoản của chính đơn vị đó")
    return user


def _link(agency: Agency, info: sig.CertInfo, keystore: str | None, username: str | None = None) -> AgencyCertificate:
    row = db.session.scalar(select(AgencyCertificate).where(AgencyCertificate.fingerprint == info.fingerprint))
    if row is not None and row.agency_id != agency.id:
        raise Invalid(f"Chứng thư số này đã gắn với đơn vị khác ({row.agency.code}); một chứng thư chỉ thuộc một đơn vị")
    holder = _holder(agency, username)
    row = row or AgencyCertificate(agency_id=agency.id, fingerprint=info.fingerprint)
    row.subject, row.serial, row.issuer = info.subject[:500], info.serial[:80], info.issuer[:255]
    row.not_before, row.not_after, row.retired_at = info.not_before, info.not_after, None
    row.keystore = keystore or row.keystore
    if holder is not None:
        row.user_id = holder.id
    db.session.add(row)
    db.session.commit()
    return row


def link_certificate(*, agency_code: str, data: bytes, username: str | None = None) -> AgencyCertificate:
    """An official's or agency's certificate (signing with their own token): signatures made with it
    count as the agency's; linked to `username`, it is that official's."""
    try:
        info = sig.CertInfo.of(sig.load_certificate(bounded(data, "Chứng thư số")))
    except sig.SignatureError as exc:
        raise Invalid(str(exc)) from None
    return _link(agency_by_code(agency_code), info, None, username)


def assign(*, certificate_id: int, username: str | None) -> AgencyCertificate:
    """Link a certificate to an official of its agency (or, with no username, to the agency alone)."""
    row = db.session.get(AgencyCertificate, certificate_id)
    if row is None:
        raise NotFound("Không có chứng thư số này")
    holder = _holder(row.agency, username)
    row.user_id = holder.id if holder else None
    db.session.commit()
    return row


def retire(*, certificate_id: int) -> AgencyCertificate:
    """A certificate no longer signs for its agency (replaced, the official left); kept for the
    verification of what it signed."""
    row = db.session.get(AgencyCertificate, certificate_id)
    if row is None:
        raise NotFound("Không có chứng thư số này")
    row.retired_at = row.retired_at or utcnow()
    db.session.commit()
    return row


def all_certificates(*, actor: User | None = None):
    """Every certificate linked — for an administrator, those of their agency and the agencies
    below it — the soonest to expire first, retired ones last."""
    from sqlalchemy.orm import joinedload

    stmt = (select(AgencyCertificate).options(joinedload(AgencyCertificate.agency), joinedload(AgencyCertificate.user))
            .order_by(AgencyCertificate.retired_at.is_not(None), AgencyCertificate.not_after, AgencyCertificate.id))
    if actor is not None:
        from .agencies import descendant_ids

        stmt = stmt.where(AgencyCertificate.agency_id.in_(descendant_ids(agency_id=actor.agency_id)))
    return stmt


def in_scope(*, actor: User, agency_code: str | None = None, certificate_id: int | None = None):
    """The agency (or certificate) an administrator may manage certificates for: their agency and
    the agencies below it, as stored; anything else is not found."""
    from app.models import Role

    from .agencies import descendant_ids
    from .errors import Forbidden

    if not actor.has_role(Role.ADMIN):
        raise Forbidden("Chỉ quản trị hệ thống được quản lý chứng thư số")
    if certificate_id is not None:
        row = db.session.get(AgencyCertificate, certificate_id)
        if row is None or row.agency_id not in descendant_ids(agency_id=actor.agency_id):
            raise NotFound("Không có chứng thư số này trong phạm vi quản lý của bạn")
        return row
    agency = agency_by_code((agency_code or "").strip())
    if agency.id not in descendant_ids(agency_id=actor.agency_id):
        raise NotFound(f"Không có cơ quan mã “{agency_code}” trong phạm vi quản lý của bạn")
    return agency


def expiring(*, days: int = 30, now=None) -> list[AgencyCertificate]:
    """Certificates in use that expire within `days` and whose holders were not yet warned."""
    from datetime import timedelta

    now = now or utcnow()
    return list(db.session.scalars(select(AgencyCertificate).where(
        AgencyCertificate.retired_at.is_(None), AgencyCertificate.expiry_warned_at.is_(None),
        AgencyCertificate.not_after > now, AgencyCertificate.not_after <= now + timedelta(days=days))))


def add_keystore(*, agency_code: str, data: bytes, password: bytes, username: str | None = None) -> AgencyCertificate:
    """A PKCS#12 the server signs with for the agency: re-encrypted with the server's passphrase and
    kept in instance/pki/keystores; its certificate is linked to the agency."""
    agency = agency_by_code(agency_code)
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(bounded(data, "Kho khóa"), password or None)
    except (ValueError, TypeError) as exc:
        raise Invalid(f"Không mở được kho khóa PKCS#12 (sai mật khẩu hoặc tệp hỏng): {str(exc)[:120]}") from None
    if key is None or cert is None:
        raise Invalid("Kho khóa PKCS#12 phải chứa khóa bí mật và chứng thư số")
    from cryptography.hazmat.primitives.serialization import Encoding

    info = sig.CertInfo.of(sig.load_certificate(cert.public_bytes(Encoding.DER)))
    name = f"{agency.code}-{info.fingerprint[:16]}.p12"
    (_dir("keystores") / name).write_bytes(pkcs12.serialize_key_and_certificates(
        agency.code.encode(), key, cert, extra or None, BestAvailableEncryption(_passphrase())))
    return _link(agency, info, name, username)


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


def link_token_key(*, agency_code: str, label: str, username: str | None = None) -> AgencyCertificate:
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
    return _link(agency_by_code(agency_code), sig.CertInfo.of(cert), PKCS11 + label, username)


REMOTE = "csc:"  # AgencyCertificate.keystore of a credential held by the remote signing service


def remote_service() -> sig.RemoteService:
    cfg = current_app.config
    if not cfg.get("PKI_CSC_URL"):
        raise sig.SignatureError("Chưa cấu hình dịch vụ ký số từ xa (PKI_CSC_URL)")
    return sig.RemoteService(cfg["PKI_CSC_URL"], cfg.get("PKI_CSC_TOKEN") or "", cfg.get("PKI_CSC_PIN") or "")


def link_remote(*, agency_code: str, credential: str, username: str | None = None) -> AgencyCertificate:
    """A credential of the remote signing service (CSC API) signs for the agency (or the official):
    its certificate is fetched from the service (credentials/info) and linked."""
    credential = (credential or "").strip()
    if not credential or len(credential) > 200:
        raise Invalid("Mã chứng thư trên dịch vụ ký số từ xa (credentialID): 1–200 ký tự")
    agency = agency_by_code(agency_code)
    try:
        cert = sig.remote_certificate(remote_service(), credential)
    except sig.SignatureError as exc:
        raise Invalid(str(exc)) from None
    return _link(agency, sig.CertInfo.of(cert), REMOTE + credential, username)


def revocation() -> sig.Revocation:
    return sig.Revocation(trust_anchors(), revocation_lists(), bool(current_app.config.get("PKI_ALLOW_FETCHING")))


class Signing:
    """The key a certificate signs with — a keystore the server holds, a token key, a credential of
    the remote service — behind one interface; a token session is closed after use."""

    def __init__(self, row: AgencyCertificate, signer=None, session=None):
        self.row, self.signer, self.session = row, signer, session

    @property
    def mode(self) -> str:
        keystore = self.row.keystore or ""
        return "pkcs11" if keystore.startswith(PKCS11) else "remote" if keystore.startswith(REMOTE) else "server"

    def sign(self, pdf: bytes, *, name: str, reason: str, location: str) -> bytes:
        settings = {"name": name, "reason": reason, "location": location, "revocation": revocation(),
                    "timestamp_url": current_app.config.get("PKI_TSA_URL") or None}
        if self.mode == "remote":
            return sig.sign_pdf_remote(pdf, remote_service(), self.row.keystore[len(REMOTE):], **settings)
        return sig.sign_pdf(pdf, self.signer, **settings)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.session is not None:
            self.session.close()


def signer_for(agency_id: int, user_id: int | None = None) -> Signing | None:
    """The signer for a document of the agency sent by the user: the user's own certificate when
    the server can sign with it, else the agency's (one not held by a particular official)."""
    now = utcnow()
    usable = [c for c in certificates_of(agency_id) if c.keystore and c.not_before <= now <= c.not_after]
    rows = [c for c in usable if user_id is not None and c.user_id == user_id] or [c for c in usable if c.user_id is None]
    if not rows:
        return None
    row = max(rows, key=lambda c: c.not_after)
    if row.keystore.startswith(REMOTE):
        return Signing(row)
    if row.keystore.startswith(PKCS11):
        from pyhanko.sign.pkcs11 import PKCS11Signer

        label = row.keystore[len(PKCS11):]
        session = _token_session()
        return Signing(row, PKCS11Signer(session, cert_label=label, key_label=label, other_certs_to_pull=None), session)
    path = _dir("keystores") / row.keystore
    if not path.exists():
        return None
    return Signing(row, sig.keystore_signer(path.read_bytes(), _passphrase()))
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


# ------------------------------------------------------------------------------ expiry warnings
WARN_DAYS = 30


def warn_expiring(*, now=None, days: int = WARN_DAYS) -> int:
    """Tell the holder of each certificate that expires within `days` (the agency's leaders for an
    agency's certificate) and the administrators, once per certificate; returns how many were
    warned. Runs with the reminders (`flask reminders send`, the scheduler)."""
    from app.domain.deadlines import VN_TZ
    from app.models import Role

    from . import notices

    now = now or utcnow()
    admins = list(db.session.scalars(select(User).where(User.role == Role.ADMIN.value, User.active.is_(True))))
    warned = 0
    for row in expiring(days=days, now=now):
        left = (row.not_after - now).days
        holders = [row.user] if row.user else list(db.session.scalars(select(User).where(
            User.agency_id == row.agency_id, User.role == Role.APPROVER.value, User.active.is_(True))))
        who = f"của {row.user.full_name} " if row.user else ""
        title = f"Chứng thư số {who}({row.agency.name}) hết hạn sau {left} ngày"
        text = (f"Chứng thư số {row.subject} (số hiệu {row.serial}, do {row.issuer} cấp) hết hạn lúc "
                f"{row.not_after.astimezone(VN_TZ):%H:%M %d/%m/%Y}. Sau thời điểm đó báo cáo của {row.agency.name} "
                "không ký được bằng chứng thư này: hãy xin cấp chứng thư mới và nhờ quản trị hệ thống gắn vào tài khoản.")
        key = ("*", row.fingerprint[:40], row.agency.code)
        told = notices.send(notices.Notice("cert-expiry", (*key, 0), title, text, "/pki/signatures"), holders, now=now)
        told += notices.send(notices.Notice("cert-expiry", (*key, 1), title, text, "/admin/certificates"),
                             [a for a in admins if a not in holders], now=now)
        warned += bool(told)
        row.expiry_warned_at = now
    db.session.commit()
    return warned
