"""Submitting reports: open the report an agency owes, save drafts (web, API).
Next to it, by use case: sending.py (submit: seal and sign), uploads.py (the Excel template), decisions.py (approve / return / reopen),
listings.py (verify, compare versions, history, my reports, the inbox), references.py (the earlier
periods a report compares with), requests.py (ad hoc requests), chain.py (compiling from below).

Every public function is one use case and one transaction; it checks the user's scope first.
Versions are never updated once sealed; a draft is the only thing saved in place, and only by a
writer holding its latest revision (optimistic locking).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from app import faults
from app.domain import workflow
from app.domain.catalogue import Catalogue, RegimeDef
from app.domain.deadlines import VN_TZ
from app.domain.errors import DomainError, UnknownPeriod
from app.domain.layout import CellKey, Entry, Layout, system_values
from app.domain.periods import Period
from app.domain.validation import Finding, blocking, check, check_outline, read_entries
from app.domain.workflow import Status
from app.extensions import db
from app.models import (
    Agency,
    Level,
    Regime,
    RegimeVersion,
    ReportRequest,
    Role,
    Submission,
    SubmissionEvent,
    SubmissionValue,
    SubmissionVersion,
    User,
)
from app.models.base import utcnow

from . import agencies as agency_service
from .catalogue import regime_definition
from .errors import Conflict, Forbidden, Invalid, NotFound
from .references import references_of
from .users import agencies_in_scope

WRITERS = (Role.REPORTER, Role.APPROVER)
READERS_ALL = (Role.ANALYST, Role.ADMIN)
MAX_REASON = 2000


# ------------------------------------------------------------------------------------ context
@dataclass
class Report:
    """One report an agency owes, with everything needed to show, fill or check it."""

    regime: Regime
    version: RegimeVersion
    definition: RegimeDef
    catalogue: Catalogue
    agency: Agency
    period_key: str
    period: Period
    request: ReportRequest | None
    deadline_at: datetime
    lock_at: datetime | None
    tier: int
    receiver: Agency | None
    submission: Submission | None
    _layout: Layout | None = None
    _references: dict | None = None

    @property
    def layout(self) -> Layout:
        if self._layout is None:
            self._layout = _layout_for(self.version)
        return self._layout

    @property
    def status(self) -> Status:
        return Status(self.submission.status) if self.submission else Status.NOT_STARTED

    @property
    def title(self) -> str:
        return self.request.title if self.request else self.definition.name_vi

    @property
    def period_label(self) -> str:
        if self.request:
            return f"{self.request.data_from:%d/%m/%Y} – {self.request.data_to:%d/%m/%Y}"
        return self.period.label_vi

    @property
    def reopened(self) -> bool:
        return bool(self.submission and self.submission.reopened_at)

    def entries(self, number: int | None = None) -> dict[CellKey, Entry]:
        version = self._version(number)
        return entries_of(version) if version else {}

    def outline(self, number: int | None = None) -> dict[str, str]:
        version = self._version(number)
        return dict(version.outline or {}) if version else {}

    def _version(self, number: int | None) -> SubmissionVersion | None:
        if not self.submission:
            return None
        return self.submission.version(number) if number else self.submission.latest

    def references(self) -> dict:
        """Stored data of earlier periods this form compares with (approved, else last sealed)."""
        if self._references is None:
            self._references = references_of(self)
        return self._references

    def system(self, entries: Mapping[CellKey, Entry] | None = None, number: int | None = None) -> dict[str, dict[str, Decimal | None]]:
        """The system columns of a version: as sealed for a sealed one (frozen), computed from the
        stored earlier periods for a draft."""
        version = self._version(number)
        if version is not None and version.sealed_system is not None:
            return {col: {ind: (None if v is None else Decimal(v)) for ind, v in values.items()}
                    for col, values in version.sealed_system.items()}
        refs = self.references()
        current = self.layout.complete({k: e.value for k, e in (entries if entries is not None else self.entries()).items()})
        return system_values(self.layout, current, previous=refs["previous"], last_year=refs["last_year"],
                             earlier_this_year=refs["ytd"])

    def days_left(self, now: datetime | None = None) -> int:
        today = (now or utcnow()).astimezone(VN_TZ).date()
        return (self.deadline_at.astimezone(VN_TZ).date() - today).days


_LAYOUTS: dict[tuple[int, str], Layout] = {}


def _layout_for(version: RegimeVersion) -> Layout:
    key = (version.id, version.content_hash)
    if key not in _LAYOUTS:
        regime, cat = regime_definition(version)
        _LAYOUTS[key] = Layout(regime, cat)
    return _LAYOUTS[key]


def entries_of(version: SubmissionVersion) -> dict[CellKey, Entry]:
    return {(v.indicator, v.dkey): Entry(v.number if v.text is None else v.text, v.estimate, v.comment or "")
            for v in version.values}


def version_in_force(regime: Regime, day: date) -> RegimeVersion:
    """The version published by the end of `day` (the period's cut-off end); the first one for
    periods before any publication. A report keeps the version it was started on."""
    chosen = regime.versions[0]
    for v in regime.versions:
        if v.published_at.astimezone(VN_TZ).date() <= day:
            chosen = v
    return chosen


def _regime(code: str) -> Regime:
    regime = db.session.scalar(select(Regime).where(Regime.code == code).options(selectinload(Regime.versions)))
    if regime is None or not regime.versions:
        raise NotFound(f"Không có chế độ báo cáo mã “{code}”")
    return regime


def _agency(code: str) -> Agency:
    return agency_service.get_agency(code=code)


def _request(key: str) -> ReportRequest:
    digits = key[2:]
    if not digits.isdigit() or len(digits) > 9:  # ids are 32-bit on PostgreSQL; a longer number names nothing
        raise NotFound(f"Không có yêu cầu báo cáo “{key[:20]}”")
    rid = int(digits)
    req = db.session.get(ReportRequest, rid)
    if req is None:
        raise NotFound(f"Không có yêu cầu báo cáo “{key}”")
    return req


def _find_submission(regime_id: int, agency_id: int, period_key: str) -> Submission | None:
    return db.session.scalar(
        select(Submission).where(Submission.regime_id == regime_id, Submission.agency_id == agency_id,
                                 Submission.period_key == period_key)
        .options(selectinload(Submission.versions)))


def open_report(*, user: User, regime_code: str, agency_code: str, period_key: str, for_write: bool = False) -> Report:
    """The report `agency` owes for (regime, period). Refused when the agency owes no such report,
    when the period is not one of the regime's, or when the user may not see it."""
    regime = _regime(regime_code)
    agency = _agency(agency_code)
    sub = _find_submission(regime.id, agency.id, period_key)
    if sub is not None:
        return _report_from_submission(sub, user=user, for_write=for_write)
    _check_scope(user, agency_id=agency.id, receiver_id=None, write=for_write)
    if period_key.startswith("YC"):
        req = _request(period_key)
        if req.regime_id != regime.id or agency.id not in {t.agency_id for t in req.targets}:
            raise NotFound("Đơn vị này không nằm trong danh sách được yêu cầu báo cáo")
        return _report_for_request(req, regime, agency, None)
    try:
        period = Period.parse(period_key)
    except UnknownPeriod as exc:
        raise Invalid(str(exc)) from None
    version = version_in_force(regime, period.cutoff(regime_definition(regime.versions[0])[0].cutoff)[1])
    definition, cat = regime_definition(version)
    try:
        definition.check_period(period)
    except DomainError as exc:
        raise Invalid(str(exc)) from None
    ob = agency_service.obligation_of(regime=definition, period=period, agency=agency)
    if ob is None:
        raise NotFound(f"{agency.name} không phải báo cáo “{definition.name_vi}” kỳ {period.label_vi}")
    receiver = db.session.scalar(select(Agency).where(Agency.code == ob.receiver)) if ob.receiver else None
    return Report(regime, version, definition, cat, agency, period.key, period, None, ob.deadline.at,
                  workflow.lock_at(ob.deadline.at, definition.lock_after_days), ob.tier, receiver, None)


def _report_for_request(req: ReportRequest, regime: Regime, agency: Agency, sub: Submission | None) -> Report:
    definition, cat = regime_definition(req.regime_version)
    period = Period.ad_hoc(req.period_key, req.data_from, req.data_to)
    return Report(regime, req.regime_version, definition, cat, agency, req.period_key, period, req, req.deadline_at,
                  None, 0, req.issuer_agency, sub)


def _report_from_submission(sub: Submission, *, user: User, for_write: bool) -> Report:
    _check_scope(user, agency_id=sub.agency_id, receiver_id=sub.receiver_id, write=for_write)
    if sub.request is not None:
        return _report_for_request(sub.request, sub.regime, sub.agency, sub)
    version = sub.latest.regime_version if sub.latest else sub.regime.current_version
    definition, cat = regime_definition(version)
    period = Period.parse(sub.period_key)
    return Report(sub.regime, version, definition, cat, sub.agency, sub.period_key, period, None, sub.deadline_at,
                  sub.lock_at, sub.tier, sub.receiver, sub)


def get_report(*, user: User, submission_id: int, for_write: bool = False) -> Report:
    sub = db.session.get(Submission, submission_id)
    if sub is None:
        raise NotFound("Không tìm thấy báo cáo")
    return _report_from_submission(sub, user=user, for_write=for_write)


def _readers_scope(user: User) -> set[int] | None:
    """What an analyst or administrator may read: everything (None) when they sit in a central
    agency or a ministry; otherwise their own agency and the units below it (a province's
    reporting center sees its province, not another's). Other roles: nothing by this rule."""
    if not user.has_role(*READERS_ALL):
        return set()
    if user.agency.level in (Level.CENTRAL.value, Level.MINISTRY.value):
        return None
    return agency_service.descendant_ids(agency_id=user.agency_id, on=date.today())


def _check_scope(user: User, *, agency_id: int, receiver_id: int | None, write: bool) -> None:
    if write:
        if user.agency_id != agency_id or not user.has_role(*WRITERS):
            raise Forbidden("Chỉ người lập báo cáo của đơn vị báo cáo được nhập, sửa hoặc gửi báo cáo này")
        return
    if user.agency_id == agency_id:
        return
    readers = _readers_scope(user)
    if readers is None or agency_id in readers:
        return
    if user.has_role(Role.APPROVER):  # the units below the approver, and what they receive
        scope = agencies_in_scope(user=user)
        if agency_id in scope or (receiver_id is not None and receiver_id in scope):
            return
    raise Forbidden("Báo cáo này không thuộc phạm vi của bạn")


# --------------------------------------------------------------------------------------- saving
@dataclass
class SaveResult:
    submission: Submission
    version: SubmissionVersion
    findings: list[Finding] = field(default_factory=list)
    created_version: bool = False


def save(*, user: User, report: Report, raw: Mapping[CellKey, tuple[object, bool, str]], outline: Mapping[str, str],
         revision: int | None, source: str = "web", file_name: str | None = None, new_version: bool = False,
         refs: Mapping[CellKey, str] | None = None, extra: list[Finding] | None = None, autosave: bool = False,
         now: datetime | None = None, commit: bool = True) -> SaveResult:
    """Store a draft. Values that cannot be stored (not numbers, out of range, contradicting a
    computed total) refuse the whole save with every problem listed; nothing changes."""
    now = now or utcnow()
    _check_scope(user, agency_id=report.agency.id, receiver_id=None, write=True)
    sub = report.submission
    if sub is not None:
        if revision is not None and revision != sub.revision:
            raise Conflict(_conflict_message(sub))
    workflow_check(report, now)
    where = (lambda k: refs.get(k, _field_name(report, k))) if refs is not None else (lambda k: _field_name(report, k))
    entries, findings = read_entries(report.layout, raw, where)
    findings = list(extra or []) + findings
    findings += check_outline(outline, [s.code for s in report.definition.outline])
    findings += check(report.layout, entries, submitting=False, previous=report.references()["previous"], where=where)
    refused = blocking(findings, submitting=False)
    if refused:
        raise Invalid(f"Chưa lưu: có {len(refused)} lỗi cần sửa — không có gì bị thay đổi", details=[f.as_dict() for f in refused])
    complete = report.layout.complete({k: e.value for k, e in entries.items()})
    stored = {k: Entry(complete.get(k) if report.layout.cells[k].computed else e.value, e.estimate, e.comment)
              for k, e in entries.items()}
    for k, v in complete.items():
        if v is not None and k not in stored:
            stored[k] = Entry(v)
    outline_clean = {k: (v or "").strip() for k, v in outline.items() if k in {s.code for s in report.definition.outline}}
    created = False
    if sub is None:
        sub = Submission(regime_id=report.regime.id, agency_id=report.agency.id, period_key=report.period_key,
                         request_id=report.request.id if report.request else None, tier=report.tier,
                         receiver_id=report.receiver.id if report.receiver else None, status=Status.DRAFT.value,
                         deadline_at=report.deadline_at, lock_at=report.lock_at, created_at=now, updated_at=now,
                         updated_by_id=user.id)
        db.session.add(sub)
        report.submission = sub
    latest = sub.latest
    if latest is None or latest.status != "draft" or new_version:
        if latest is not None and latest.status == "draft":
            latest.status = "replaced"
        version = SubmissionVersion(number=(latest.number + 1) if latest else 1, regime_version_id=report.version.id,
                                    status="draft", source=source, file_name=file_name, outline=outline_clean,
                                    created_at=now, created_by_id=user.id, saved_at=now,
                                    compilation=latest.compilation if latest else None)  # compiled: stays traceable
        sub.versions.append(version)
        created = True
    else:
        version = latest
        version.outline = outline_clean
        version.saved_at = now
        version.source = source
    db.session.flush()
    if not created:
        db.session.execute(delete(SubmissionValue).where(SubmissionValue.version_id == version.id))
    # one executemany (bulk INSERT) rather than 20,000 ORM objects: see scripts/bench_upload.py
    rows = [{"version_id": version.id, "indicator": k[0], "dkey": k[1],
             "number": e.value if isinstance(e.value, Decimal) else None,
             "text": e.value if isinstance(e.value, str) else None, "estimate": e.estimate, "comment": e.comment}
            for k, e in sorted(stored.items())]
    if rows:  # an empty list would be one INSERT of defaults, not none
        db.session.execute(insert(SubmissionValue), rows)
    db.session.expire(version, ["values"])
    sub.status = Status.DRAFT.value
    sub.touch(user.id, now)
    if not autosave:
        action = {"excel": "uploaded", "api": "saved_api"}.get(source, "saved")
        _event(sub, version.number, action, user, now, file_name or "")
    if commit:
        _commit_or_conflict(sub, f"save.{source}")
    else:
        db.session.flush()  # the caller commits several reports as one (an interchange import)
    return SaveResult(sub, version, [f for f in findings if f not in refused], created)


def workflow_check(report: Report, now: datetime) -> None:
    try:
        workflow.check_can_write(report.status, now=now, lock=report.lock_at, reopened=report.reopened)
    except workflow.NotAllowed as exc:
        raise Invalid(str(exc)) from None


def _field_name(report: Report, key: CellKey) -> str:
    cell = report.layout.cells.get(key)
    if cell is None:
        return f"{key[0]}{'[' + key[1] + ']' if key[1] else ''}"
    grid = report.layout.grid(cell.form)
    col = next((c.label for c in grid.columns if c.key == key[1]), key[1])
    return f"{grid.label} — {cell.indicator.name_vi} ({col})"


def _conflict_message(sub: Submission) -> str:
    who = sub.updated_by.full_name if sub.updated_by else "người khác"
    at = sub.updated_at.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")
    return (f"Báo cáo đã được {who} thay đổi lúc {at}, sau khi bạn mở. Thay đổi của bạn chưa được lưu: "
            "hãy tải lại trang để xem bản mới rồi nhập lại phần của bạn.")


def _commit_or_conflict(sub: Submission, step: str) -> None:
    faults.point(f"{step}.before_commit")  # crash tests stop the process here (app/faults.py)
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise Conflict("Báo cáo vừa được người khác thay đổi; thay đổi của bạn chưa được lưu — hãy tải lại trang.") from None
    except IntegrityError:
        db.session.rollback()
        raise Conflict("Báo cáo vừa được người khác tạo hoặc thay đổi; hãy tải lại trang.") from None


def _event(sub: Submission, number: int | None, action: str, user: User, now: datetime, detail: str = "") -> None:
    if sub.id is None:
        db.session.flush()
    db.session.add(SubmissionEvent(submission_id=sub.id, version_number=number, action=action, actor_id=user.id, at=now,
                                   detail=detail[:MAX_REASON]))


def check_draft(report: Report) -> list[dict]:
    """What submitting the latest version would say now (shown on the form while working)."""
    version = report.submission.latest if report.submission else None
    if version is None or version.status != "draft":
        return []
    findings = check(report.layout, entries_of(version), submitting=True, previous=report.references()["previous"],
                     where=lambda k: _field_name(report, k))
    return [f.as_dict() for f in findings]
