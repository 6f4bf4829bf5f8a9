"""Sending a report (gửi báo cáo): validate the draft, freeze it, seal it (SHA-256 + the agency's
Ed25519 key) and — when the server holds the agency's keystore — sign its PDF (signing.py)."""
from __future__ import annotations

import hashlib
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from app.domain import chain as chain_rules
from app.domain import seal as sealing
from app.domain import workflow
from app.domain.numbers import canonical
from app.domain.validation import blocking, check
from app.domain.workflow import Status
from app.extensions import db
from app.models import (
    Agency,
    AgencyKey,
    Submission,
    SubmissionVersion,
    User,
)
from app.models.base import utcnow

from . import aggregation
from .errors import Conflict, Invalid
from .submissions import Report, SaveResult, _commit_or_conflict, _conflict_message, _event, _field_name, entries_of, get_report


def _signing_key(agency: Agency) -> tuple[AgencyKey, bytes]:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    passphrase = hashlib.sha256(b"baocao-seal:" + secret).hexdigest().encode()
    keys = db.session.scalars(select(AgencyKey).where(AgencyKey.agency_id == agency.id, AgencyKey.retired_at.is_(None))
                              .order_by(AgencyKey.id.desc())).all()
    for key in keys:
        try:
            sealing.sign(key.private_key.encode(), passphrase, "00" * 32)
            return key, passphrase
        except (ValueError, TypeError):
            key.retired_at = utcnow()  # the server secret changed: keep it for verification, sign with a new one
    pair = sealing.new_key(passphrase)
    key = AgencyKey(agency_id=agency.id, public_key=pair.public_hex, private_key=pair.private_pem.decode())
    db.session.add(key)
    db.session.flush()
    return key, passphrase


def seal_payload(sub: Submission, version: SubmissionVersion) -> dict:
    return sealing.payload(
        agency=sub.agency.code, regime=sub.regime.code, regime_version=version.regime_version.version,
        regime_hash=version.regime_version.content_hash, period=sub.period_key, version=version.number,
        submitted_by=version.submitted_by.username if version.submitted_by else "", submitted_at=version.submitted_at,
        entries=entries_of(version), outline=version.outline or {})


def submit(*, user: User, submission_id: int, revision: int | None = None, now: datetime | None = None) -> SaveResult:
    """Validate the draft, freeze it, seal it. Errors and unexplained warnings refuse it, all listed."""
    now = (now or utcnow()).replace(microsecond=0)
    report = get_report(user=user, submission_id=submission_id, for_write=True)
    sub = report.submission
    assert sub is not None
    if revision is not None and revision != sub.revision:
        raise Conflict(_conflict_message(sub))
    try:
        workflow.check_can_submit(report.status, now=now, lock=report.lock_at, reopened=report.reopened)
    except workflow.NotAllowed as exc:
        raise Invalid(str(exc)) from None
    version = sub.latest
    entries = entries_of(version)
    findings = check(report.layout, entries, submitting=True, previous=report.references()["previous"],
                     where=lambda k: _field_name(report, k))
    findings += chain_rules.override_findings(version.compilation, entries, lambda k: _field_name(report, k))
    refused = blocking(findings, submitting=True)
    if refused:
        raise Invalid(f"Chưa gửi được: {len(refused)} vấn đề cần sửa hoặc giải trình", details=[f.as_dict() for f in refused])
    key, passphrase = _signing_key(report.agency)
    version.sealed_system = {col: {ind: (None if v is None else canonical(v)) for ind, v in values.items()}
                             for col, values in report.system(entries).items()}
    version.status = "submitted"
    version.submitted_at = now
    version.submitted_by_id = user.id
    version.submitted_by = user
    version.on_time = now <= sub.deadline_at
    digest = sealing.digest(seal_payload(sub, version))
    version.seal_hash = digest
    version.seal_signature = sealing.sign(key.private_key.encode(), passphrase, digest)
    version.seal_key_id = key.id
    sub.status = Status.SUBMITTED.value
    if sub.first_submitted_at is None:
        sub.first_submitted_at = now
        sub.on_time = version.on_time
    sub.reopened_at = None
    sub.reopen_reason = None
    sub.touch(user.id, now)
    late = "" if version.on_time else "nộp muộn"
    _event(sub, version.number, "submitted", user, now, late)
    db.session.flush()
    _sign(report, version, user)
    aggregation.refresh(sub)  # the reporting center sees it in the same transaction
    _commit_or_conflict(sub, "submit")
    return SaveResult(sub, version, [f for f in findings if f.severity == "warning"])


def _sign(report: Report, version: SubmissionVersion, user: User) -> None:
    """The signed PDF of the version, when the server holds a keystore for the agency (signing.py).
    A keystore that fails is logged and the report still goes, sealed: a server-side fault must not
    stop an agency from reporting on deadline day; its page then says it is not signed."""
    from app.adapters.signatures import SignatureError

    from .signing import sign_version

    try:
        sign_version(report=report, version=version, user=user)
    except SignatureError:
        current_app.logger.exception("signing the submitted version failed")
