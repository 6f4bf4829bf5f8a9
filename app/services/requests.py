"""Ad hoc and thematic report requests (báo cáo đột xuất, chuyên đề): a one-off request using a
regime's current forms, to chosen agencies, with its own deadline. The reports it asks for are then
ordinary submissions (app/services/submissions.py) whose receiver is the issuing agency."""
from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import or_, select

from app.domain.hierarchy import selects
from app.domain.workflow import Status
from app.extensions import db
from app.models import Agency, Regime, ReportRequest, RequestTarget, Role, Submission, User
from app.models.base import utcnow

from . import agencies as agency_service
from .catalogue import regime_definition
from .errors import Forbidden, Invalid
from .submissions import _readers_scope, _regime

MAX_TARGETS = 5000


def regimes_for_requests() -> list[Regime]:
    return list(db.session.scalars(select(Regime).order_by(Regime.code)))


def allowed_targets(*, user: User, regime: Regime, on: date | None = None) -> set[str]:
    """Whom `user` may ask for a report with `regime`'s forms: the units below their own agency and,
    when their agency issues the regime, every agency it obliges — never their own agency (it would
    then receive and decide on its own report)."""
    on = on or date.today()
    units = agency_service.units_on(day=on)
    children: dict[str, list[str]] = {}
    for u in units:
        if u.parent:
            children.setdefault(u.parent, []).append(u.code)
    own = user.agency.code
    found, frontier = set(), [own]
    while frontier:
        code = frontier.pop()
        for child in children.get(code, ()):
            if child not in found:
                found.add(child)
                frontier.append(child)
    if regime.issuing_agency_code == own:
        definition, _ = regime_definition(regime.current_version)
        found |= {u.code for u in units for t in definition.tiers if selects(t, u)}
    found.discard(own)
    return found


def issue_request(*, user: User, regime_code: str, title: str, content: str, agency_codes: list[str],
                  deadline: datetime, data_from: date, data_to: date, kind: str = "ad_hoc") -> ReportRequest:
    """A one-off request using a regime's current forms, to chosen agencies, with its own deadline.
    Targets are limited to the issuer's own subtree (a ministry: the agencies its regime obliges)."""
    if not user.has_role(Role.DESIGNER, Role.APPROVER):
        raise Forbidden("Chỉ người thiết kế chế độ báo cáo hoặc người phê duyệt được ra yêu cầu báo cáo đột xuất")
    problems = []
    title = (title or "").strip()
    if not title:
        problems.append({"field": "title", "code": "required", "message": "Cần ghi tên yêu cầu báo cáo"})
    if deadline.tzinfo is None:
        raise ValueError("deadline must be timezone-aware")
    if deadline <= utcnow():
        problems.append({"field": "deadline", "code": "past", "message": "Hạn gửi phải ở tương lai"})
    if data_to < data_from:
        problems.append({"field": "data_to", "code": "order", "message": "Ngày kết thúc số liệu phải sau ngày bắt đầu"})
    if kind not in ("ad_hoc", "thematic"):
        problems.append({"field": "kind", "code": "choice", "message": "Loại yêu cầu: đột xuất hoặc chuyên đề"})
    codes = sorted({c.strip()[:40] for c in agency_codes if c.strip()})
    if not codes:
        problems.append({"field": "agencies", "code": "required", "message": "Chọn ít nhất một đơn vị báo cáo"})
    if len(codes) > MAX_TARGETS:
        raise Invalid(f"Tối đa {MAX_TARGETS} đơn vị trong một yêu cầu",
                      details=[{"field": "agencies", "code": "too_many", "message": f"Tối đa {MAX_TARGETS} đơn vị"}])
    regime = _regime(regime_code)
    found = {a.code: a for a in db.session.scalars(select(Agency).where(Agency.code.in_(codes)))} if codes else {}
    allowed = allowed_targets(user=user, regime=regime) if found else set()
    for c in codes:
        if c not in found:
            problems.append({"field": "agencies", "code": "unknown", "message": f"Không có đơn vị mã “{c}”"})
        elif not found[c].exists_on(date.today()):
            problems.append({"field": "agencies", "code": "closed", "message": f"Đơn vị “{c}” đã giải thể hoặc sáp nhập"})
        elif c == user.agency.code:
            problems.append({"field": "agencies", "code": "own_agency",
                             "message": f"Không gửi yêu cầu cho chính cơ quan mình ({c}): không ai tự phê duyệt báo cáo của mình"})
        elif c not in allowed:
            problems.append({"field": "agencies", "code": "out_of_scope",
                             "message": f"Đơn vị “{c}” ({found[c].name}) không thuộc phạm vi của {user.agency.name}: chỉ gửi "
                                        "yêu cầu cho đơn vị cấp dưới, hoặc cho đối tượng báo cáo của chế độ do cơ quan mình ban hành"})
    if problems:
        raise Invalid("Chưa ra được yêu cầu báo cáo", details=problems)
    req = ReportRequest(regime_id=regime.id, regime_version_id=regime.current_version.id, title=title[:500],
                        content=(content or "").strip()[:20000], kind=kind, issuer_agency_id=user.agency_id, issued_by_id=user.id,
                        data_from=data_from, data_to=data_to, deadline_at=deadline.astimezone(UTC))
    req.targets = [RequestTarget(agency_id=found[c].id) for c in codes]
    db.session.add(req)
    db.session.flush()
    _tell_targets(req, [found[c] for c in codes], user)
    db.session.commit()
    return req


def _tell_targets(req: ReportRequest, agencies: list[Agency], user: User) -> None:
    """The reporters of each agency asked are told — in the app and by mail, as each prefers."""
    from app.domain.deadlines import VN_TZ

    from .notices import Notice, send

    kind = "Yêu cầu báo cáo chuyên đề" if req.kind == "thematic" else "Yêu cầu báo cáo đột xuất"
    people = {}
    for u in db.session.scalars(select(User).where(User.agency_id.in_([a.id for a in agencies]), User.role == Role.REPORTER.value)):
        people.setdefault(u.agency_id, []).append(u)
    for agency in agencies:
        text = (f"{user.agency.name} yêu cầu {agency.name} báo cáo “{req.title}” (biểu mẫu của chế độ {req.regime.name_vi}), "
                f"số liệu từ {req.data_from:%d/%m/%Y} đến {req.data_to:%d/%m/%Y}, hạn gửi "
                f"{req.deadline_at.astimezone(VN_TZ):%H:%M %d/%m/%Y}." + (f"\n{req.content[:1500]}" if req.content else ""))
        send(Notice("request", ("*", req.period_key, agency.code, 0), f"{kind}: {req.title}", text,
                    f"/reports/{req.regime.code}/{agency.code}/{req.period_key}"),
             people.get(agency.id, []))


def list_requests(*, user: User):
    stmt = select(ReportRequest).order_by(ReportRequest.id.desc())
    readers = _readers_scope(user)
    if readers is not None:
        mine = readers | {user.agency_id}
        stmt = stmt.where(or_(ReportRequest.issuer_agency_id.in_(mine),
                              ReportRequest.id.in_(select(RequestTarget.request_id).where(RequestTarget.agency_id.in_(mine)))))
    return stmt


def request_progress(*, request: ReportRequest) -> dict[str, int]:
    counts = {s.value: 0 for s in Status}
    rows = db.session.execute(select(Submission.status).where(Submission.request_id == request.id)).scalars().all()
    for s in rows:
        counts[s] += 1
    counts[Status.NOT_STARTED.value] = len(request.targets) - len(rows)
    return counts
