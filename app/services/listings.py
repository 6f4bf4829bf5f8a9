"""Reading submissions: verify a seal, compare two versions, the history of events, "my reports"
and the approver's inbox."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from app.domain import seal as sealing
from app.domain import workflow
from app.domain.catalogue import RegimeDef
from app.domain.deadlines import VN_TZ
from app.domain.periods import Frequency, Period
from app.domain.workflow import Status
from app.extensions import db
from app.models import (
    Agency,
    Regime,
    ReportRequest,
    RequestTarget,
    Role,
    Submission,
    SubmissionEvent,
    User,
)
from app.models.base import utcnow

from . import agencies as agency_service
from .catalogue import regime_definition
from .errors import Forbidden, Invalid, NotFound
from .sending import seal_payload
from .submissions import READERS_ALL, Report, _readers_scope, entries_of, get_report
from .users import agencies_in_scope


# ------------------------------------------------------------------------------------- reading
@dataclass
class Verification:
    version: int
    sealed: bool
    hash_matches: bool = False
    signature_valid: bool = False
    stored_hash: str | None = None
    computed_hash: str | None = None
    public_key: str | None = None

    @property
    def ok(self) -> bool:
        return self.sealed and self.hash_matches and self.signature_valid


def verify(*, user: User, submission_id: int, number: int | None = None) -> Verification:
    report = get_report(user=user, submission_id=submission_id)
    sub = report.submission
    version = sub.version(number) if number else next((v for v in reversed(sub.versions) if v.sealed), None)
    if version is None:
        if number:
            raise NotFound(f"Không có phiên bản {number}")
        return Verification(0, False)
    if not version.sealed:
        return Verification(version.number, False)
    computed = sealing.digest(seal_payload(sub, version))
    key = version.seal_key
    return Verification(version.number, True, computed == version.seal_hash,
                        sealing.verify(key.public_key, version.seal_hash, version.seal_signature) if key else False,
                        version.seal_hash, computed, key.public_key if key else None)


@dataclass
class Change:
    indicator: str
    key: str
    before: Decimal | str | None
    after: Decimal | str | None
    note: str = ""
    name: str = ""  # the indicator's name, as the form shows it
    row: str = ""  # its row number on the form


def diff(*, report: Report, a: int, b: int) -> tuple[list[Change], list[str]]:
    """Cells and outline sections that differ between versions a and b."""
    sub = report.submission
    va, vb = sub.version(a), sub.version(b)
    if va is None or vb is None:
        raise NotFound("Không có phiên bản cần so sánh")
    ea, eb = entries_of(va), entries_of(vb)
    cells = report.layout.cells
    order = {k: i for i, k in enumerate(cells)}  # the form's order: people read the diff against the form
    rows = {ln.indicator.code: ln.row.row for g in report.layout.forms for ln in g.lines}
    changes = []
    for k in sorted(set(ea) | set(eb), key=lambda k: (order.get(k, len(order)), k)):
        x, y = ea.get(k), eb.get(k)
        xv, yv = (x.value if x else None), (y.value if y else None)
        notes = []
        if (x.estimate if x else False) != (y.estimate if y else False):
            notes.append("ước tính → thực hiện" if x and x.estimate else "thực hiện → ước tính")
        if (x.comment if x else "") != (y.comment if y else ""):
            notes.append("đổi ghi chú")
        if xv != yv or notes:
            name = cells[k].indicator.name_vi if k in cells else k[0]
            changes.append(Change(k[0], k[1], xv, yv, "; ".join(notes), name, str(rows.get(k[0], "") or "")))
    oa, ob = va.outline or {}, vb.outline or {}
    titles = {s.code: f"{s.code}. {s.title}" for s in report.definition.outline}
    sections = [titles.get(code, code) for code in [s.code for s in report.definition.outline] + sorted(set(oa) | set(ob) - set(titles))
                if (oa.get(code) or "") != (ob.get(code) or "")]
    return changes, sections


def events(*, report: Report) -> list[SubmissionEvent]:
    if report.submission is None:
        return []
    return list(db.session.scalars(select(SubmissionEvent).where(SubmissionEvent.submission_id == report.submission.id)
                                   .options(selectinload(SubmissionEvent.actor)).order_by(SubmissionEvent.id)))


@dataclass
class ReportRow:
    regime_code: str
    title: str
    agency_code: str
    agency_name: str
    period_key: str
    period_label: str
    deadline_at: datetime
    status: Status
    submission_id: int | None
    days_left: int
    late: bool
    receiver_name: str
    version: int | None = None
    on_time: bool | None = None
    locked: bool = False


def my_reports(*, user: User, now: datetime | None = None, past_days: int = 200, ahead_days: int = 45) -> list[ReportRow]:
    """Every report the user's agency owes up to `ahead_days` ahead: the unsent ones however late
    (back to `past_days` + a year), what it sent that is not yet approved, and the ad hoc requests
    addressed to it — the most urgent first (`_urgency`)."""
    now = now or utcnow()
    today = now.astimezone(VN_TZ).date()
    agency = db.session.get(Agency, user.agency_id)
    subs = {(s.regime_id, s.period_key): s for s in db.session.scalars(
        select(Submission).where(Submission.agency_id == agency.id).options(selectinload(Submission.versions)))}
    rows: list[ReportRow] = []
    seen = set()
    regimes = db.session.scalars(select(Regime).options(selectinload(Regime.versions)).order_by(Regime.code)).all()
    for regime in regimes:
        if not regime.versions:
            continue
        definition, _ = regime_definition(regime.current_version)
        if definition.frequency is Frequency.AD_HOC:
            continue
        window = definition.periods(today - timedelta(days=past_days + 370), today + timedelta(days=ahead_days))
        for period in window:
            sub = subs.get((regime.id, period.key))
            if sub is None:
                ob = agency_service.obligation_of(regime=definition, period=period, agency=agency) if _may_owe(definition, agency) else None
                if ob is None:
                    continue
                deadline = ob.deadline.at
                # an unsent report stays on the list however late it is (within the window): it is still owed
                if deadline.astimezone(VN_TZ).date() > today + timedelta(days=ahead_days):
                    continue
                receiver = ob.receiver or ""
                rows.append(_row(regime.code, definition.name_vi, agency, period.key, period.label_vi, deadline, None,
                                 now, agency_service.names_for([receiver]).get(receiver, receiver),
                                 workflow.lock_at(deadline, definition.lock_after_days)))
            seen.add((regime.id, period.key))
    for (regime_id, key), sub in subs.items():
        if (regime_id, key) not in seen and sub.status == Status.APPROVED.value:
            continue  # approved long ago: on the submissions list, not among the things to do
        title = sub.request.title if sub.request else sub.regime.name_vi
        label = (f"{sub.request.data_from:%d/%m/%Y} – {sub.request.data_to:%d/%m/%Y}" if sub.request
                 else Period.parse(key).label_vi)
        rows.append(_row(sub.regime.code, title, agency, key, label, sub.deadline_at, sub, now,
                         sub.receiver.name if sub.receiver else "", sub.lock_at))
    # requests not started yet
    reqs = db.session.scalars(select(ReportRequest).join(RequestTarget).where(RequestTarget.agency_id == agency.id)).all()
    for req in reqs:
        if (req.regime_id, req.period_key) in subs:
            continue
        rows.append(_row(req.regime.code, req.title, agency, req.period_key,
                         f"{req.data_from:%d/%m/%Y} – {req.data_to:%d/%m/%Y}", req.deadline_at, None, now,
                         req.issuer_agency.name, None))
    rows.sort(key=_urgency)
    return rows


def _urgency(r: ReportRow):
    """Most visible first: overdue and still open (the most overdue first); locked and never sent (a
    reopening is needed); returned; to do, by deadline; then what was sent, the newest first."""
    ts = r.deadline_at.timestamp()
    if r.status in (Status.SUBMITTED, Status.APPROVED):
        return (4, -ts)
    if r.locked:
        return (1, -ts)
    if r.late:
        return (0, ts)
    if r.status is Status.RETURNED:
        return (2, ts)
    return (3, ts)


def _may_owe(definition: RegimeDef, agency: Agency) -> bool:
    return any(agency.code in t.reporters.agencies or agency.level in t.reporters.levels for t in definition.tiers)


def _row(regime_code, title, agency, key, label, deadline, sub, now, receiver_name, lock) -> ReportRow:
    today = now.astimezone(VN_TZ).date()
    status = Status(sub.status) if sub else Status.NOT_STARTED
    days = (deadline.astimezone(VN_TZ).date() - today).days
    late = now > deadline and status in (Status.NOT_STARTED, Status.DRAFT, Status.RETURNED)
    return ReportRow(regime_code, title, agency.code, agency.name, key, label, deadline, status, sub.id if sub else None,
                     days, late, receiver_name, sub.latest.number if sub and sub.latest else None,
                     sub.on_time if sub else None,
                     bool(lock and now > lock and not (sub and sub.reopened_at)))


def list_submissions(*, user: User, regime: str = "", period: str = "", agency: str = "", status: str = "",
                     inbox: bool = False):
    """Submissions the user may read, filtered; `inbox` keeps those addressed to the user's scope."""
    stmt = select(Submission).join(Regime, Regime.id == Submission.regime_id).join(Agency, Agency.id == Submission.agency_id)
    if inbox:
        if not user.has_role(Role.APPROVER):
            raise Forbidden("Chỉ người phê duyệt có hộp báo cáo đến")
        stmt = stmt.where(Submission.receiver_id.in_(agencies_in_scope(user=user)))
    elif user.has_role(*READERS_ALL):
        readers = _readers_scope(user)
        if readers is not None:
            stmt = stmt.where(Submission.agency_id.in_(readers))
    else:
        scope = agencies_in_scope(user=user) if user.has_role(Role.APPROVER) else {user.agency_id}
        stmt = stmt.where(or_(Submission.agency_id == user.agency_id, Submission.receiver_id.in_(scope)))
    if regime:
        stmt = stmt.where(Regime.code == regime)
    if period:
        stmt = stmt.where(Submission.period_key == period)
    if agency:
        stmt = stmt.where(Agency.code == agency)
    if status:
        if status not in {s.value for s in Status}:
            raise Invalid(f"Trạng thái “{status}” không hợp lệ")
        stmt = stmt.where(Submission.status == status)
    return stmt.order_by(Submission.updated_at.desc(), Submission.id.desc())
