"""Data quality at the reporting center: the values of one regime and period that depart from
their own history or from their peers (app/domain/quality.py), with the explanation the reporter
gave; and the analyst's follow-ups — mark, comment, ask the reporter to check (a notice that
names the cell), close. Scoped like the rest of the center: a province's staff see their province."""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from sqlalchemy import select

from app.domain import aggregation as agg_rules
from app.domain import quality as rules
from app.domain.numbers import format_vn
from app.extensions import db
from app.models import Agency, RecordVersion, Role, Submission, SubmissionValue, User
from app.models.base import utcnow
from app.models.quality import FollowUp, FollowUpComment

from . import center
from . import quality_store as store
from .catalogue import regime_definition
from .errors import Forbidden, Invalid, NotFound

MAX_COMMENT = 2000


@dataclass
class Flag:
    agency: str
    agency_name: str
    province: str
    level: str
    indicator: str
    indicator_name: str
    unit: str
    dkey: str
    value: Decimal
    expected: Decimal | None
    score: float
    basis: str  # seasonal | recent | peers
    own_change: float | None
    peer_change: float | None
    points: bool
    explanation: str  # what the reporter wrote beside the value
    submission_id: int | None
    follow_up: FollowUp | None = None

    @property
    def reason(self) -> str:
        """Why it was flagged, in words (stored with a follow-up and sent to the reporter)."""
        def change(c):
            if c is None:
                return ""
            if self.points:
                return f"{'+' if c >= 0 else ''}{format_vn(Decimal(str(round(c, 1))), 1)} điểm %"
            return f"{'+' if c >= 0 else ''}{format_vn(Decimal(str(round(c * 100, 1))), 1)} %"
        parts = [f"Giá trị {format_vn(self.value)} {self.unit}".rstrip()]
        if self.expected is not None:
            parts.append(f"mức thường thấy khoảng {format_vn(self.expected)}")
        if self.basis == "seasonal" and self.own_change is not None:
            parts.append(f"thay đổi so với cùng kỳ năm trước {change(self.own_change)}, khác hẳn các kỳ gần đây")
        elif self.basis == "recent":
            parts.append("khác hẳn các kỳ gần đây của đơn vị")
        if self.peer_change is not None and self.basis == "peers":
            parts.append(f"thay đổi {change(self.own_change)} trong khi các đơn vị cùng cấp thay đổi {change(self.peer_change)}")
        elif self.basis == "peers":
            parts.append("khác hẳn các đơn vị cùng cấp")
        return "; ".join(p for p in parts if p)


@dataclass
class QualityView:
    regime: object
    period: object
    tier: int
    basis: str
    checked: int  # how many values were judged
    flags: list[Flag]  # those of the page asked for (all when no page was asked)
    total: int = 0  # flags the reader may see, on every page
    page: int = 1
    pages: int = 1


def _analyst(user: User) -> str | None:
    if not user.has_role(Role.ANALYST, Role.ADMIN, Role.APPROVER):
        raise Forbidden("Kiểm tra chất lượng số liệu dành cho chuyên viên tổng hợp, người phê duyệt và quản trị")
    return center.scope_of(user)


def _resolve(user: User, regime: str, period: str, basis: str, tier: int | None):
    scope = _analyst(user)
    if basis not in ("approved", "latest"):
        raise Invalid("basis phải là approved hoặc latest")
    r = center._regime(regime)
    definition, cat = regime_definition(r.current_version)
    p = center._period(definition, period)
    tiers = center._tiers(r.id, p.key, basis) or [0]
    return scope, r, definition, cat, p, (tier if tier in tiers else tiers[0])


def scan(*, user: User, regime: str, period: str, basis: str = "approved", tier: int | None = None, page: int | None = None) -> QualityView:
    """Every reported value of a tier judged against its own history and its peers (one query)."""
    scope, r, definition, cat, p, tier = _resolve(user, regime, period, basis, tier)
    checked, found = findings(r.id, definition, cat, p, tier, basis)
    return _view(scope, r, cat, p, tier, basis, checked, found, page)


def scan_or_job(*, user: User, regime: str, period: str, basis: str = "approved", tier: int | None = None, page: int | None = None):
    """The pass in the request when the period is small enough (`QUALITY_INTERACTIVE_VALUES`); else
    a background job (shared by everyone asking for the same figures) — returns the job while it
    runs, the view once it is done."""
    from flask import current_app

    from . import jobs
    from .export_jobs import _stamp

    scope, r, definition, cat, p, tier = _resolve(user, regime, period, basis, tier)
    if basis == store.BASIS and (stored := store.stored_pass(r.id, cat, p.key, tier)) is not None:
        return _view(scope, r, cat, p, tier, basis, *stored, page)  # the kept features: the period only, any size
    if _values_in(r.id, p.key, tier, basis) <= current_app.config.get("QUALITY_INTERACTIVE_VALUES", 100_000):
        return _view(scope, r, cat, p, tier, basis, *findings_from_history(r.id, definition, cat, p, tier, basis), page)
    job = jobs.enqueue(kind="quality", user=user, args={"regime": r.code, "period": p.key, "basis": basis, "tier": tier,
                                                        "stamp": _stamp(r.code, p.key)})
    db.session.commit()
    if job.status != "done":
        return job
    stored = json.loads((jobs.storage_dir() / job.result_path).read_bytes())
    return _view(scope, r, cat, p, tier, basis, stored["checked"], stored["found"], page)


def _values_in(regime_id: int, period_key: str, tier: int, basis: str) -> int:
    """How many values the period holds, from the nation's partials (no scan of the values)."""
    from sqlalchemy import func

    from app.models import Aggregate

    return int(db.session.scalar(select(func.coalesce(func.sum(Aggregate.n), 0)).where(
        Aggregate.regime_id == regime_id, Aggregate.period_key == period_key, Aggregate.tier == tier, Aggregate.basis == basis,
        Aggregate.unit_code == center.NATION)) or 0)


def findings_for(args: dict) -> tuple[int, list[dict]]:
    """The background job's pass (app/services/jobs.py, kind "quality")."""
    r = center._regime(args["regime"])
    definition, cat = regime_definition(r.current_version)
    return findings(r.id, definition, cat, center._period(definition, args["period"]), args["tier"], args["basis"])


def findings(regime_id: int, definition, cat, p, tier: int, basis: str) -> tuple[int, list[dict]]:
    """The pass itself, for everyone (no scope): (values judged, the flagged cells as plain data) —
    from the kept features when the period has them all (approved basis), else from the history."""
    if basis == store.BASIS and (stored := store.stored_pass(regime_id, cat, p.key, tier)) is not None:
        return stored
    return findings_from_history(regime_id, definition, cat, p, tier, basis)


def findings_from_history(regime_id: int, definition, cat, p, tier: int, basis: str) -> tuple[int, list[dict]]:
    """The pass reading every value of the period and its history (what the kept features spare)."""
    g = store.gather(regime_id, definition, cat, p, tier, basis)
    cells, history, province, comment = g.cells, g.history, g.province, g.comment
    levels = dict(db.session.execute(select(Agency.code, Agency.level).where(Agency.code.in_({c for c, _, _ in cells}))).all()) if cells else {}
    group_of: dict[tuple, int] = {}
    groups = np.array([group_of.setdefault((ind, dkey, levels.get(c, "")), len(group_of)) for c, ind, dkey in cells], dtype=int)
    points = np.array([agg_rules.in_points(cat.indicators[ind]) for _, ind, _ in cells], dtype=bool)
    out = []
    for f in rules.scan(history, groups, points, g.per_year):
        code, ind, dkey = cells[f.row]
        out.append(store.finding(code, ind, dkey, province.get(code, ""), f, bool(points[f.row]),
                                 comment.get((code, ind), "") if not dkey else ""))
    return len(cells), out


PAGE = 100  # flags per page, furthest out first


def _view(scope, r, cat, p, tier: int, basis: str, checked: int, found: list[dict], page: int | None = None) -> QualityView:
    """The flags a reader may see (their province, or all), with names, the report and any follow-up
    — of one page of PAGE when `page` is given (a period of ten million values can flag thousands)."""
    if scope is not None:  # the province as reported (or an old one merged into it), or the agency's province today
        mine = center.scope_units(scope)
        codes = {f["agency"] for f in found if f["province"] not in mine}
        moved = {a.code: a for a in db.session.scalars(select(Agency).where(Agency.code.in_(codes)))} if codes else {}
        found = [f for f in found if f["province"] in mine or _province_now(moved.get(f["agency"])) == scope]
    total = len(found)
    pages = max(1, -(-total // PAGE))
    if page is not None:
        page = min(max(1, page), pages)
        found = found[(page - 1) * PAGE:page * PAGE]
    mine = found
    codes = {f["agency"] for f in mine}
    agencies = {a.code: a for a in db.session.scalars(select(Agency).where(Agency.code.in_(codes)))} if codes else {}
    subs = _submissions(r.id, p.key, {f["agency"] for f in mine}, agencies)
    follow = _follow_ups(r.id, p.key, {f["agency"] for f in mine}, agencies)
    flags = []
    for f in mine:
        a = agencies.get(f["agency"])
        d = cat.indicators[f["indicator"]]
        flags.append(Flag(f["agency"], a.name if a else f["agency"], f["province"], a.level if a else "", f["indicator"], d.name_vi,
                          d.unit, f["dkey"], Decimal(f["value"]), None if f["expected"] is None else Decimal(f["expected"]), f["score"],
                          f["basis"], f["own"], f["peer"], f["points"], f["comment"], subs.get(f["agency"]),
                          follow.get((a.id if a else 0, f["indicator"], f["dkey"]))))
    return QualityView(r, p, tier, basis, checked, flags, total, page or 1, pages if page is not None else 1)


def _province_now(agency: Agency | None) -> str | None:
    if agency is None:
        return None
    from datetime import date

    from .aggregation import _province_of

    return _province_of(agency, date.today())


def _dec(x: float, places: int | None = None) -> Decimal:
    d = Decimal(str(x))
    if places is not None:
        d = d.quantize(Decimal(1).scaleb(-places))
    return d.quantize(Decimal(1)) if d == d.to_integral() else d


def _submissions(regime_id: int, period_key: str, codes: set[str], agencies: dict) -> dict[str, int]:
    ids = {agencies[c].id: c for c in codes if c in agencies}
    if not ids:
        return {}
    rows = db.session.execute(select(Submission.agency_id, Submission.id).where(
        Submission.regime_id == regime_id, Submission.period_key == period_key, Submission.agency_id.in_(list(ids)))).all()
    return {ids[a]: s for a, s in rows}


def _follow_ups(regime_id: int, period_key: str, codes: set[str], agencies: dict) -> dict[tuple, FollowUp]:
    ids = [agencies[c].id for c in codes if c in agencies]
    if not ids:
        return {}
    return {(f.agency_id, f.indicator, f.dkey): f for f in db.session.scalars(select(FollowUp).where(
        FollowUp.regime_id == regime_id, FollowUp.period_key == period_key, FollowUp.agency_id.in_(ids)))}


# ------------------------------------------------------------------------------------ follow-ups
def follow(*, user: User, regime: str, period: str, agency: str, indicator: str, dkey: str = "", comment: str = "") -> FollowUp:
    """Mark a flagged (or any reported) value for follow-up. The cell is looked up in what is
    stored — the value, the reason — never taken from the form."""
    scope = _analyst(user)
    _scope, r, _definition, _cat, p, tier = _resolve(user, regime, period, "approved", None)
    # the pass as the page has it: in the request for a small period, else the job's stored result
    # (a large period's pass is never run again inside this request)
    view = scan_or_job(user=user, regime=regime, period=period)
    if not isinstance(view, QualityView):
        view = QualityView(r, p, tier, "approved", 0, [])
    flag = next((f for f in view.flags if f.agency == agency and f.indicator == indicator and f.dkey == dkey), None)
    a = db.session.scalar(select(Agency).where(Agency.code == agency))
    if a is None:
        raise NotFound(f"Không có đơn vị mã “{agency[:40]}”")
    if scope is not None and _province_now(a) != scope:
        raise Forbidden("Đơn vị này ngoài phạm vi bạn theo dõi")
    if a.id == user.agency_id:
        raise Forbidden("Không tự theo dõi số liệu của chính cơ quan mình")
    existing = db.session.scalar(select(FollowUp).where(
        FollowUp.regime_id == view.regime.id, FollowUp.period_key == view.period.key, FollowUp.agency_id == a.id,
        FollowUp.indicator == indicator, FollowUp.dkey == dkey))
    if existing is not None:
        if existing.status == "closed":
            _say(existing, user, "reopen", comment)
            existing.status = "open"
            db.session.commit()
        return existing
    if flag is None:
        value = _stored_value(view, a.code, indicator, dkey)
        reason, expected = "Chuyên viên tự đánh dấu để theo dõi", None
    else:
        value, expected, reason = flag.value, flag.expected, flag.reason
    now = utcnow()
    fu = FollowUp(regime_id=view.regime.id, period_key=view.period.key, agency_id=a.id, indicator=indicator, dkey=dkey,
                  value=value, expected=expected, reason=reason, status="open", owner_id=user.id, created_at=now, updated_at=now)
    db.session.add(fu)
    _say(fu, user, "open", comment)
    db.session.commit()
    return fu


def _stored_value(view: QualityView, agency: str, indicator: str, dkey: str) -> Decimal:
    number = db.session.scalar(select(SubmissionValue.number).join(RecordVersion, RecordVersion.version_id == SubmissionValue.version_id)
                               .where(RecordVersion.regime_id == view.regime.id, RecordVersion.period_key == view.period.key,
                                      RecordVersion.basis == "latest", RecordVersion.agency_code == agency,
                                      SubmissionValue.indicator == indicator, SubmissionValue.dkey == dkey))
    if number is None:
        raise NotFound("Đơn vị chưa báo cáo giá trị này trong kỳ")
    return number


def _say(fu: FollowUp, user: User, action: str, text: str) -> None:
    text = (text or "").strip()
    if len(text) > MAX_COMMENT:
        raise Invalid(f"Nội dung dài quá {MAX_COMMENT} ký tự")
    if action == "comment" and not text:
        raise Invalid("Hãy viết nội dung trao đổi")
    fu.comments.append(FollowUpComment(author_id=user.id, action=action, text=text, at=utcnow()))
    fu.updated_at = utcnow()


def get(*, user: User, follow_up: int) -> FollowUp:
    scope = _analyst(user)
    fu = db.session.get(FollowUp, follow_up)
    if fu is None or (scope is not None and _province_now(fu.agency) != scope):
        raise NotFound("Không có mục theo dõi này")
    return fu


def act(*, user: User, follow_up: int, action: str, text: str = "") -> FollowUp:
    """comment | ask (the reporter is asked to check the cell: a notice, in the app and by mail) | close | reopen."""
    fu = get(user=user, follow_up=follow_up)
    if action not in ("comment", "ask", "close", "reopen"):
        raise Invalid("Thao tác không hợp lệ")
    if action == "ask":
        if fu.status == "closed":
            raise Invalid("Mục đã xong; hãy mở lại trước khi đề nghị kiểm tra")
        if not (text or "").strip():
            raise Invalid("Hãy viết điều cần đơn vị kiểm tra")
        _say(fu, user, "ask", text)
        fu.status = "asked"
        _notify(fu, user, text)
    elif action == "close":
        _say(fu, user, "close", text)
        fu.status = "closed"
    elif action == "reopen":
        _say(fu, user, "reopen", text)
        fu.status = "open"
    else:
        _say(fu, user, "comment", text)
    db.session.commit()
    return fu


def _notify(fu: FollowUp, user: User, text: str) -> None:
    from app.domain.periods import Period

    from .notices import Notice, send

    sub = submission_of(fu)
    people = list(db.session.scalars(select(User).where(User.agency_id == fu.agency_id, User.role == Role.REPORTER.value)))
    if sub is not None:
        people += [v.submitted_by for v in sub.versions if v.submitted_by is not None and v.submitted_by not in people]
    definition, cat = regime_definition(fu.regime.current_version)
    ind = cat.indicators.get(fu.indicator)
    name = ind.name_vi if ind else fu.indicator
    try:
        period = Period.parse(fu.period_key).label_vi
    except Exception:  # noqa: BLE001 — an ad hoc request's own code
        period = fu.period_key
    title = f"Đề nghị kiểm tra số liệu: {name} — {fu.regime.code} {period}"
    body = (f"{user.full_name or user.username} ({user.agency.name}) đề nghị kiểm tra lại chỉ tiêu “{name}” "
            f"trong báo cáo {fu.regime.name_vi}, {period}.\n{fu.reason}.\n\nNội dung: {text.strip()}\n\n"
            "Nếu số liệu đúng, hãy ghi giải trình ở cột Ghi chú; nếu sai, hãy sửa và gửi lại báo cáo.")
    link = f"/submissions/{sub.id}#row-{fu.indicator}" if sub is not None else ""
    step = len([c for c in fu.comments if c.action == "ask"])
    send(Notice("check-value", (fu.regime.code, fu.period_key, fu.agency.code, fu.id * 1000 + step), title, body, link), people)


def submission_of(fu: FollowUp) -> Submission | None:
    return db.session.scalar(select(Submission).where(Submission.regime_id == fu.regime_id, Submission.period_key == fu.period_key,
                                                      Submission.agency_id == fu.agency_id))


def mine(*, user: User, status: str = "") -> list[FollowUp]:
    """The follow-ups an analyst owns, open ones first, newest first."""
    _analyst(user)
    stmt = select(FollowUp).where(FollowUp.owner_id == user.id)
    if status:
        stmt = stmt.where(FollowUp.status == status)
    items = list(db.session.scalars(stmt.order_by(FollowUp.updated_at.desc())))
    return sorted(items, key=lambda f: f.status == "closed")


def asked_of(submission: Submission) -> list[FollowUp]:
    """What the center asked an agency to check in a report (shown on the report's page)."""
    return list(db.session.scalars(select(FollowUp).where(
        FollowUp.regime_id == submission.regime_id, FollowUp.period_key == submission.period_key,
        FollowUp.agency_id == submission.agency_id, FollowUp.status == "asked")))


def counts_by_status(user: User) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for f in mine(user=user):
        out[f.status] += 1
    return dict(out)
