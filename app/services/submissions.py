"""Submitting reports: open the report an agency owes, save drafts (web, Excel, API), submit and
seal, approve / return / reopen, verify, compare versions, issue ad hoc requests.

Every public function is one use case and one transaction; it checks the user's scope first.
Versions are never updated once sealed; a draft is the only thing saved in place, and only by a
writer holding its latest revision (optimistic locking).
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import delete, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from app import faults
from app.adapters import excel
from app.domain import chain as chain_rules
from app.domain import seal as sealing
from app.domain import workflow
from app.domain.catalogue import Catalogue, RegimeDef
from app.domain.deadlines import VN_TZ
from app.domain.errors import DomainError, UnknownPeriod
from app.domain.layout import TOTAL, CellKey, Entry, Layout, system_values
from app.domain.periods import Frequency, Period
from app.domain.validation import Finding, blocking, check, check_outline, read_entries
from app.domain.workflow import Status
from app.extensions import db
from app.models import (
    Agency,
    AgencyKey,
    Level,
    Regime,
    RegimeVersion,
    ReportRequest,
    RequestTarget,
    Role,
    Submission,
    SubmissionEvent,
    SubmissionValue,
    SubmissionVersion,
    User,
)
from app.models.base import utcnow

from . import agencies as agency_service
from . import aggregation
from .catalogue import regime_definition
from .errors import Conflict, Forbidden, Invalid, NotFound
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
            self._references = _references(self)
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


# --------------------------------------------------------------------------------- references
def _record_version_ids(regime_id: int, agency_id: int, period_keys: list[str]) -> dict[str, int]:
    """For each period, the version of record: the approved one, else the last sealed one."""
    if not period_keys:
        return {}
    subs = db.session.execute(
        select(Submission.id, Submission.period_key, Submission.approved_version)
        .where(Submission.regime_id == regime_id, Submission.agency_id == agency_id, Submission.period_key.in_(period_keys))
    ).all()
    if not subs:
        return {}
    versions = db.session.execute(
        select(SubmissionVersion.submission_id, SubmissionVersion.number, SubmissionVersion.id)
        .where(SubmissionVersion.submission_id.in_([s[0] for s in subs]), SubmissionVersion.seal_hash.is_not(None))
    ).all()
    out = {}
    for sid, key, approved in subs:
        mine = sorted((n, vid) for s, n, vid in versions if s == sid)
        pick = next((vid for n, vid in mine if n == approved), None) or (mine[-1][1] if mine else None)
        if pick:
            out[key] = pick
    return out


def _values_by_version(version_ids: list[int]) -> dict[int, dict[CellKey, Decimal | str | None]]:
    out: dict[int, dict[CellKey, Decimal | str | None]] = {v: {} for v in version_ids}
    if version_ids:
        for vid, ind, key, num, text in db.session.execute(
                select(SubmissionValue.version_id, SubmissionValue.indicator, SubmissionValue.dkey,
                       SubmissionValue.number, SubmissionValue.text).where(SubmissionValue.version_id.in_(version_ids))):
            out[vid][(ind, key)] = num if text is None else text
    return out


def _references(report: Report) -> dict:
    empty = {"previous": {}, "last_year": {}, "ytd": []}
    if report.request is not None or report.period.frequency is Frequency.AD_HOC:
        return empty
    p = report.period
    prev, ly = p.previous(), p.same_period_last_year()
    earlier = [x for x in _periods_of_year_before(p)]
    keys = [prev.key, ly.key] + [x.key for x in earlier]
    ids = _record_version_ids(report.regime.id, report.agency.id, keys)
    values = _values_by_version(list(ids.values()))
    get = lambda k: values.get(ids.get(k), {})  # noqa: E731
    return {"previous": get(prev.key), "last_year": get(ly.key), "ytd": [get(x.key) for x in earlier]}


def _periods_of_year_before(p: Period) -> list[Period]:
    out, cur = [], p.previous()
    while cur.year == p.year and cur.frequency is p.frequency and len(out) < 60:
        out.append(cur)
        cur = cur.previous()
    return out


def carried_values(report: Report) -> dict[str, Decimal]:
    """Rows filled from an indicator of the previous period (e.g. "from the previous period")."""
    prev = report.references()["previous"]
    out = {}
    for cell in report.layout.cells.values():
        if cell.carried_from and cell.key == TOTAL:
            v = prev.get((cell.carried_from, TOTAL))
            if isinstance(v, Decimal):
                out[cell.indicator.code] = v
    return out


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


# ------------------------------------------------------------------------------------- upload
def upload_limits() -> excel.Limits:
    mb = current_app.config.get("MAX_UPLOAD_MB", 10)
    return excel.Limits(max_bytes=int(mb * 1024 * 1024))


def upload(*, user: User, regime_code: str, agency_code: str, period_key: str, data: bytes, file_name: str,
           revision: int | None = None, now: datetime | None = None) -> SaveResult:
    """A filled Excel template → a new draft version, or nothing at all and every problem."""
    report = open_report(user=user, regime_code=regime_code, agency_code=agency_code, period_key=period_key, for_write=True)
    workflow_check(report, now or utcnow())
    try:
        book = excel.read_workbook(data, upload_limits(), report.layout, lambda meta: _identity_problems(report, meta))
    except excel.WrongTemplate as exc:
        raise Invalid(f"Không nhận tệp “{file_name}”: {exc}",
                      details=[{"code": "wrong_template", "message": m, "where": file_name} for m in exc.problems]) from None
    except excel.WorkbookRefused as exc:
        raise Invalid(f"Không nhận tệp “{file_name}”: {exc}", details=[{"code": "file", "message": str(exc), "where": file_name}]) from None
    return save(user=user, report=report, raw=book.raw, outline=report.outline(), revision=revision, source="excel",
                file_name=file_name[:255], new_version=True, refs=book.refs, extra=book.findings, now=now)


def _identity_problems(report: Report, meta: Mapping[str, str]) -> list[str]:
    out = []
    if meta.get("regime") != report.regime.code:
        out.append(f"tệp là mẫu của chế độ “{meta.get('regime')}”, không phải “{report.regime.code}”")
    if meta.get("agency") != report.agency.code:
        out.append(f"tệp lập cho đơn vị “{meta.get('agency')}”, không phải “{report.agency.code}” ({report.agency.name})")
    if meta.get("period") != report.period_key:
        out.append(f"tệp lập cho kỳ “{meta.get('period')}”, không phải kỳ “{report.period_key}”")
    if meta.get("regime") == report.regime.code and (
            meta.get("regime_version") != str(report.version.version) or meta.get("regime_hash") != report.version.content_hash):
        out.append(f"tệp theo phiên bản {meta.get('regime_version')} của chế độ, báo cáo này dùng phiên bản "
                   f"{report.version.version} — hãy tải mẫu mới")
    return out


def template(*, user: User, regime_code: str, agency_code: str, period_key: str) -> tuple[bytes, str]:
    report = open_report(user=user, regime_code=regime_code, agency_code=agency_code, period_key=period_key)
    entries = report.entries()
    sysv = report.system(entries)
    refs = report.references()
    earlier = {}
    for code in (k[0] for k in report.layout.cells if k[1] == TOTAL):
        parts = [r.get((code, TOTAL)) for r in refs["ytd"]]
        nums = [p for p in parts if isinstance(p, Decimal)]
        earlier[code] = sum(nums, Decimal(0)) if nums else None
    spec = excel.TemplateSpec(
        layout=report.layout, regime_code=report.regime.code, regime_name=report.title,
        regime_version=report.version.version, regime_hash=report.version.content_hash,
        agency_code=report.agency.code, agency_name=report.agency.name, period_key=report.period_key,
        period_label=report.period_label, deadline=report.deadline_at.astimezone(VN_TZ).strftime("%d/%m/%Y"),
        current={k: e.value for k, e in entries.items()},
        estimates={k[0] for k, e in entries.items() if e.estimate},
        comments={k[0]: e.comment for k, e in entries.items() if e.comment and k[1] == TOTAL},
        system=sysv, earlier_ytd=earlier, carried=carried_values(report))
    name = f"{report.regime.code}_{report.agency.code}_{report.period_key}.xlsx"
    return excel.build_template(spec), name


# ------------------------------------------------------------------------------ submit & decide
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
    version.sealed_system = {col: {ind: (None if v is None else format(v, "f")) for ind, v in values.items()}
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
    aggregation.refresh(sub)  # the reporting center sees it in the same transaction
    _commit_or_conflict(sub, "submit")
    return SaveResult(sub, version, [f for f in findings if f.severity == "warning"])


def check_draft(report: Report) -> list[dict]:
    """What submitting the latest version would say now (shown on the form while working)."""
    version = report.submission.latest if report.submission else None
    if version is None or version.status != "draft":
        return []
    findings = check(report.layout, entries_of(version), submitting=True, previous=report.references()["previous"],
                     where=lambda k: _field_name(report, k))
    return [f.as_dict() for f in findings]


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
    version.status = "approved"
    version.decided_at, version.decided_by_id = now, user.id
    sub.status = Status.APPROVED.value
    sub.approved_version = version.number
    sub.touch(user.id, now)
    _event(sub, version.number, "approved", user, now)
    db.session.flush()
    aggregation.refresh(sub)
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
    _commit_or_conflict(sub, "reopen")
    return sub


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


def diff(*, report: Report, a: int, b: int) -> tuple[list[Change], list[str]]:
    """Cells and outline sections that differ between versions a and b."""
    sub = report.submission
    va, vb = sub.version(a), sub.version(b)
    if va is None or vb is None:
        raise NotFound("Không có phiên bản cần so sánh")
    ea, eb = entries_of(va), entries_of(vb)
    changes = []
    for k in sorted(set(ea) | set(eb)):
        x, y = ea.get(k), eb.get(k)
        xv, yv = (x.value if x else None), (y.value if y else None)
        notes = []
        if (x.estimate if x else False) != (y.estimate if y else False):
            notes.append("ước tính → thực hiện" if x and x.estimate else "thực hiện → ước tính")
        if (x.comment if x else "") != (y.comment if y else ""):
            notes.append("đổi ghi chú")
        if xv != yv or notes:
            changes.append(Change(k[0], k[1], xv, yv, "; ".join(notes)))
    oa, ob = va.outline or {}, vb.outline or {}
    sections = [code for code in sorted(set(oa) | set(ob)) if (oa.get(code) or "") != (ob.get(code) or "")]
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
    """Every report the user's agency owes whose deadline falls from `past_days` ago to
    `ahead_days` ahead, any older one not yet approved, and the ad hoc requests addressed to it."""
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
                if not (today - timedelta(days=past_days) <= deadline.astimezone(VN_TZ).date() <= today + timedelta(days=ahead_days)):
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
    order = {Status.RETURNED: 0, Status.NOT_STARTED: 1, Status.DRAFT: 1, Status.SUBMITTED: 2, Status.APPROVED: 3}
    rows.sort(key=lambda r: (r.locked, order[r.status], r.deadline_at))
    return rows


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
