"""Digital signatures (ký số): the certificates linked to agencies (a signature counts for an agency
only with one of its certificates), and the signed PDF of every submitted version."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

from .agency import Agency
from .base import AwareDateTime, utcnow
from .submission import SubmissionVersion
from .user import User


class AgencyCertificate(db.Model):
    """A certificate an agency (or an official of it) signs with; the keystore, when the server
    holds one for the agency, is a file in the instance folder (never in the database)."""

    __tablename__ = "agency_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the DER certificate
    subject: Mapped[str] = mapped_column(String(500))
    serial: Mapped[str] = mapped_column(String(80))
    issuer: Mapped[str] = mapped_column(String(255))
    not_before: Mapped[datetime] = mapped_column(AwareDateTime)
    not_after: Mapped[datetime] = mapped_column(AwareDateTime)
    keystore: Mapped[str | None] = mapped_column(String(255))  # file name under instance/pki/keystores
    added_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    # the official who holds it (their own certificate: signs as them when they send); None: the agency's
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    expiry_warned_at: Mapped[datetime | None] = mapped_column(AwareDateTime)  # the 30-day warning went out

    agency: Mapped[Agency] = relationship()
    user: Mapped[User | None] = relationship()


class SignedDocument(db.Model):
    """The signed PDF of a submitted version, as stored at signing; verified again whenever shown."""

    __tablename__ = "signed_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("submission_versions.id"), unique=True)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    signer_subject: Mapped[str] = mapped_column(String(500))
    signer_fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    certificate_serial: Mapped[str] = mapped_column(String(80))
    certificate_issuer: Mapped[str] = mapped_column(String(255))
    mode: Mapped[str] = mapped_column(String(20), default="server")  # server | pkcs11 | remote | external
    level: Mapped[str] = mapped_column(String(8), default="B-B", server_default="B-B")  # PAdES baseline: B-B, B-T, B-LT
    signed_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    version: Mapped[SubmissionVersion] = relationship()


class PendingSignature(db.Model):
    """A version prepared for signing by an official's own tool (external signing): the prepared
    PDF and what the tool must sign, until the signature comes back (or the request expires)."""

    __tablename__ = "pending_signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("submission_versions.id"), index=True)
    certificate: Mapped[bytes] = mapped_column(LargeBinary)
    chain: Mapped[bytes] = mapped_column(LargeBinary)  # concatenated DER certificates, each prefixed by its 4-byte length
    prepared_pdf: Mapped[bytes] = mapped_column(LargeBinary)
    document_digest: Mapped[bytes] = mapped_column(LargeBinary)
    region_start: Mapped[int] = mapped_column()
    region_end: Mapped[int] = mapped_column()
    signed_attrs: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
