"""The receiver's decisions on a submitted report: approve, return with a reason, reopen a locked
period. Separation of duties is checked against what is stored."""
from __future__ import annotations

from datetime import datetime

from app.domain import workflow
from app.domain.deadlines import VN_TZ
from app.domain.workflow import Status
from app.extensions import db
from app.models import (
    Role,
    Submission,
    User,
)
from app.models.base import utcnow

from . import aggregation
from .errors import Conflict, Forbidden, Invalid, NotFound
from .submissions import MAX_REASON, _commit_or_conflict, _conflict_message, _event
from .users import agencies_in_scope


def can_decide(*, user: User, submission: Submission) -> bool:
    try:
        _decider(user, submission)
    except Forbidden:
        return False
    return True


def _decider(user: User, sub: Submission) -> None:
    """Separation of duties: an approver of the receiving agency (or above it), never for a report
    of their own agency, nor one they drafted or submitted themselves. Checked against the stored
    submission and its versions."""
    if not user.has_role(Role.APPROVER) or sub.receiver_id is None or sub.receiver_id not in agencies_in_scope(user=user):
        raise Forbidden("Chỉ người phê duyệt của cơ quan nhận báo cáo được duyệt, trả lại hoặc mở lại báo cáo này")
    if sub.agency_id == user.agency_id:
        raise Forbidden("Không ai được duyệt, trả lại hoặc mở lại báo cáo của chính cơ quan mình")
    if any(user.id in (v.created_by_id, v.submitted_by_id) for v in sub.versions):
        raise Forbidden("Bạn đã lập hoặc gửi báo cáo này nên không được tự duyệt, trả lại hoặc mở lại nó")


def _load(submission_id: int) -> Submission:
    sub = db.session.get(Submission, submission_id)
    if sub is None:
        raise NotFound("Không tìm thấy báo cáo")
    return sub


def approve(*, user: User, submission_id: int, revision: int | None = None, now: datetime | None = None) -> Submission:
    now = now or utcnow()
    sub = _load(submission_id)
    _decider(user, sub)
    if revision is not None and revision != sub.revision:
        raise Conflict(_conflict_message(sub))
    _decide_check(sub)
    version = sub.latest
    from .signing import verify_version

    verdict = verify_version(version)  # verified on receipt, again at the decision: a bad signature blocks it
    if verdict is not None and not verdict.ok:
        raise Invalid(f"Không duyệt được: {verdict.message}", details=[{"code": "signature", "message": p} for p in verdict.problems])
    version.status = "approved"
    version.decided_at, version.decided_by_id = now, user.id
    sub.status = Status.APPROVED.value
    sub.approved_version = version.number
    sub.touch(user.id, now)
    _event(sub, version.number, "approved", user, now)
    db.session.flush()
    aggregation.refresh(sub)
    _tell_reporters(sub, "approved", user, now)
    _commit_or_conflict(sub, "approve")
    return sub


def return_(*, user: User, submission_id: int, reason: str, revision: int | None = None, now: datetime | None = None) -> Submission:
    now = now or utcnow()
    sub = _load(submission_id)
    _decider(user, sub)
    reason = _reason(reason)
    if revision is not None and revision != sub.revision:
        raise Conflict(_conflict_message(sub))
    _decide_check(sub)
    version = sub.latest
    version.status = "returned"
    version.decided_at, version.decided_by_id, version.decision_reason = now, user.id, reason
    sub.status = Status.RETURNED.value
    sub.touch(user.id, now)
    _event(sub, version.number, "returned", user, now, reason)
    db.session.flush()
    aggregation.refresh(sub)
    _tell_reporters(sub, "returned", user, now, reason)
    _commit_or_conflict(sub, "return")
    return sub


def reopen(*, user: User, submission_id: int, reason: str, now: datetime | None = None) -> Submission:
    now = now or utcnow()
    sub = _load(submission_id)
    _decider(user, sub)
    reason = _reason(reason)
    try:
        workflow.check_can_reopen(Status(sub.status), now=now, lock=sub.lock_at)
    except workflow.NotAllowed as exc:
        raise Invalid(str(exc)) from None
    sub.reopened_at, sub.reopen_reason = now, reason
    sub.touch(user.id, now)
    _event(sub, sub.latest.number if sub.latest else None, "reopened", user, now, reason)
    _tell_reporters(sub, "reopened", user, now, reason)
    _commit_or_conflict(sub, "reopen")
    return sub


_TOLD = {
    "returned": ("Báo cáo bị trả lại", "đã bị {who} ({receiver}) trả lại", "Hãy sửa theo lý do trên và gửi lại."),
    "approved": ("Báo cáo đã được duyệt", "đã được {who} ({receiver}) duyệt", ""),
    "reopened": ("Báo cáo được mở lại", "đã được {who} ({receiver}) mở lại để sửa dù đã quá hạn khóa sổ",
                 "Hãy sửa và gửi lại; bản đã gửi trước vẫn được giữ."),
}


def _tell_reporters(sub: Submission, action: str, user: User, now: datetime, reason: str = "") -> None:
    """The agency's reporters and whoever sent the report are told — in the app and by mail, as
    each prefers — in the same transaction as the decision (notices.py)."""
    from sqlalchemy import select

    from app.domain.periods import Period

    from .notices import Notice, send

    people = list(db.session.scalars(select(User).where(User.agency_id == sub.agency_id, User.role == Role.REPORTER.value)))
    people += [v.submitted_by for v in sub.versions if v.submitted_by is not None and v.submitted_by not in people]
    try:
        period = Period.parse(sub.period_key).label_vi
    except Exception:  # noqa: BLE001 — an ad hoc request's own period code
        period = sub.period_key
    title, what, todo = _TOLD[action]
    receiver = sub.receiver.name if sub.receiver else ""
    line = f"{title}: {sub.regime.name_vi} — {period}"
    text = (f"Báo cáo “{sub.regime.name_vi}” kỳ {period} của {sub.agency.name} {what.format(who=user.full_name, receiver=receiver)} "
            f"lúc {now.astimezone(VN_TZ):%H:%M %d/%m/%Y}." + (f"\nLý do: {reason}" if reason else "") + (f"\n{todo}" if todo else ""))
    send(Notice(action, (sub.regime.code, sub.period_key, sub.agency.code, sub.revision), line, text, f"/submissions/{sub.id}"),
         people, now=now)


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Cần ghi lý do", details=[{"code": "required", "field": "reason", "message": "Cần ghi lý do"}])
    if len(reason) > MAX_REASON:
        raise Invalid(f"Lý do dài quá {MAX_REASON} ký tự",
                      details=[{"code": "too_long", "field": "reason", "message": f"Tối đa {MAX_REASON} ký tự"}])
    return reason


def _decide_check(sub: Submission) -> None:
    try:
        workflow.check_can_decide(Status(sub.status))
    except workflow.NotAllowed as exc:
        raise Invalid(str(exc)) from None
