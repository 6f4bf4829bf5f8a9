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
from app.models import Agency, AgencyCertificate
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
        info = sig.CertInfo.of(sig.load_certificate(bounded(data, "Chứng thư số")))
    except sig.SignatureError as exc:
        raise Invalid(str(exc)) from None
    return _link(agency_by_code(agency_code), info, None)


def add_keystore(*, agency_code: str, data: bytes, password: bytes) -> AgencyCertificate:
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


def signer_for(agency_id: int) -> _Signing | None:
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
