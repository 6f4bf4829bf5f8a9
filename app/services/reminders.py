"""Deadline reminders: gather what is owed in a few set-based queries, let the domain decide what
is due, claim each reminder by its unique key (so a second run or process sends nothing twice),
queue the mail and the in-app notifications in the same transaction, then deliver the queue over
SMTP with retries and back-off."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import contains_eager

from app import faults
from app.adapters.mail import render as render_template
from app.domain import reminders as rules
from app.domain.catalogue import RegimeDef
from app.domain.contacts import one_line
from app.domain.deadlines import VN_TZ, compute_deadline
from app.domain.hierarchy import obligations
from app.domain.periods import Frequency, Period
from app.extensions import db
from app.models import (
    Agency,
    MailMessage,
    Notification,
    Regime,
    ReminderEvent,
    ReportRequest,
    RequestTarget,
    Role,
    Submission,
    User,
)
from app.models.base import utcnow

from . import agencies as agency_svc
from .catalogue import regime_definition
from .errors import Forbidden, Invalid
from .mail_delivery import DeliveryResult, deliver, wake  # noqa: F401 — delivery lives beside; callers use reminders.deliver


# ------------------------------------------------------------------------------------- gather
@dataclass
class Context:
    owed: list[rules.Owed]
    titles: dict[tuple[str, str], tuple[str, str]]  # (regime, period) → (title, period label)
    names: dict[str, str] = field(default_factory=dict)  # agency code → name
    # the compile chain: (regime, period, compiling agency) → (lower-tier reports not yet submitted, owed)
    below: dict[tuple[str, str, str], tuple[int, int]] = field(default_factory=dict)


def _window(policies: list[int]) -> tuple[int, int]:
    before = -min(min(policies, default=0), 0)
    after = max(max(policies, default=0), 0)
    return before, after


def gather(*, now: datetime, units_cache: dict | None = None) -> Context:
    """Every report whose reminder steps could be due around `now`, with its status. Queries: the
    regimes; the agency map once per distinct cut-off day; requests; submissions; nothing per agency."""
    owed: list[rules.Owed] = []
    titles: dict[tuple[str, str], tuple[str, str]] = {}
    units_cache = {} if units_cache is None else units_cache
    today = now.astimezone(VN_TZ).date()
    regimes = db.session.scalars(select(Regime)).all()
    wanted: list[tuple[Regime, RegimeDef, Period]] = []
    for regime in regimes:
        if not regime.versions:
            continue
        definition, _ = regime_definition(regime.current_version)
        if definition.frequency is Frequency.AD_HOC or not definition.reminder_days:
            continue
        before, after = _window(list(definition.reminder_days))
        # deadlines are at most ~3 months after the cut-off: look at cut-offs ending in a generous window
        lo, hi = today - timedelta(days=after + 2), today + timedelta(days=before + 1)
        for period in definition.periods(today - timedelta(days=after + 200), today + timedelta(days=before + 2)):
            cut_end = period.cutoff(definition.cutoff)[1]
            due_days = [compute_deadline(t.deadline, cut_end, period.year).at.astimezone(VN_TZ).date() for t in definition.tiers]
            if any(lo <= d <= hi for d in due_days):  # only periods with a tier deadline near now
                wanted.append((regime, definition, period))
    lower: dict[tuple[str, str, str], list[str]] = {}  # (regime, period, compiler) → lower-tier agencies owing to it
    for regime, definition, period in wanted:
        day = period.cutoff(definition.cutoff)[1]
        if day not in units_cache:
            units_cache[day] = agency_svc.units_on(day=day)
        before, after = _window(list(definition.reminder_days))
        obs = obligations(definition, period, units_cache[day])
        compilers = set()
        for ob in obs:
            local = ob.deadline.at.astimezone(VN_TZ).date()
            if not (today - timedelta(days=after + 2) <= local <= today + timedelta(days=before + 1)):
                continue
            owed.append(rules.Owed(regime.code, period.key, ob.agency, ob.receiver, ob.deadline.at, definition.reminder_days))
            titles[(regime.code, period.key)] = (definition.name_vi, period.label_vi)
            if ob.tier >= 1:
                compilers.add((ob.agency, ob.tier))
        if compilers:  # the chain: which lower-tier reports each compiler is waiting for (app/services/chain.py)
            parent = {u.code: u.parent for u in units_cache[day]}
            for agency, tier in compilers:
                lower[(regime.code, period.key, agency)] = [
                    o.agency for o in obs if o.tier == tier - 1 and o.receiver and o.agency != agency
                    and (o.receiver == agency or parent.get(o.receiver) == agency)]
    # ad hoc and thematic requests use their regime's policy and their own deadline
    requests = db.session.scalars(select(ReportRequest).where(
        ReportRequest.deadline_at >= now - timedelta(days=40), ReportRequest.deadline_at <= now + timedelta(days=40))).all()
    if requests:
        targets = db.session.execute(select(RequestTarget.request_id, Agency.code).join(Agency, Agency.id == RequestTarget.agency_id)
                                     .where(RequestTarget.request_id.in_([r.id for r in requests]))).all()
        by_request = defaultdict(list)
        for rid, code in targets:
            by_request[rid].append(code)
        for req in requests:
            definition, _ = regime_definition(req.regime_version)
            for code in by_request[req.id]:
                owed.append(rules.Owed(req.regime.code, req.period_key, code, req.issuer_agency.code, req.deadline_at,
                                       definition.reminder_days))
            titles[(req.regime.code, req.period_key)] = (req.title, f"{req.data_from:%d/%m/%Y} – {req.data_to:%d/%m/%Y}")
    # one query for the statuses of every report concerned
    keys = {o.period for o in owed}
    status: dict[tuple[str, str, str], str] = {}
    if keys:
        rows = db.session.execute(
            select(Regime.code, Submission.period_key, Agency.code, Submission.status)
            .join(Regime, Regime.id == Submission.regime_id).join(Agency, Agency.id == Submission.agency_id)
            .where(Submission.period_key.in_(keys))).all()
        status = {(r, p, a): s for r, p, a, s in rows}
    owed = [rules.Owed(o.regime, o.period, o.agency, o.receiver, o.deadline, o.policy,
                       status.get((o.regime, o.period, o.agency), "not_started")) for o in owed]
    below = {(r, p, a): (sum(1 for u in units if status.get((r, p, u)) not in rules.SUBMITTED), len(units))
             for (r, p, a), units in lower.items() if units}
    return Context(owed, titles, below=below)


def _sent_keys(owed: list[rules.Owed], now: datetime) -> set[tuple]:
    periods = {o.period for o in owed}
    today = now.astimezone(VN_TZ).date().isoformat()
    if not periods:
        return set()
    rows = db.session.execute(select(ReminderEvent.kind, ReminderEvent.regime_code, ReminderEvent.period_key,
                                     ReminderEvent.agency_code, ReminderEvent.step)
                              .where(or_(ReminderEvent.period_key.in_(periods),
                                         (ReminderEvent.kind == rules.DIGEST) & (ReminderEvent.period_key == today)))).all()
    return {tuple(r) for r in rows}


# ---------------------------------------------------------------------------------------- plan
@dataclass
class Planned:
    key: tuple
    kind: str
    agency: str
    regime: str
    period: str
    step: int
    deadline: datetime | None
    recipients: list[tuple[int, str | None, str]]  # (user id, email or None, full name)
    subject: str
    text: str
    html: str
    link: str
    title: str


@dataclass
class RunResult:
    at: datetime
    planned: list[Planned]
    claimed: int = 0
    messages: int = 0
    notifications: int = 0
    certificates: int = 0  # certificates whose holders were warned of their expiry (pki.warn_expiring)
    dry_run: bool = False

    @property
    def reminders(self) -> list[Planned]:
        return [p for p in self.planned if p.kind == rules.REMINDER]

    @property
    def digests(self) -> list[Planned]:
        return [p for p in self.planned if p.kind == rules.DIGEST]


def _people(codes: set[str]) -> dict[str, dict[str, list[tuple[int, str | None, str]]]]:
    """agency code → role → [(user id, email, name)] for the active users of those agencies."""
    out: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    if codes:
        rows = db.session.execute(select(Agency.code, User.id, User.email, User.full_name, User.role)
                                  .join(User, User.agency_id == Agency.id)
                                  .where(Agency.code.in_(codes), User.active.is_(True))).all()
        for code, uid, email, name, role in rows:
            out[code][role].append((uid, email or None, name))
    return out


def plan(*, now: datetime, ctx: Context | None = None) -> list[Planned]:
    ctx = ctx or gather(now=now)
    hour = current_app.config.get("REMINDER_HOUR", 8)
    dues, digests = rules.due(ctx.owed, now, _sent_keys(ctx.owed, now), hour=hour)
    codes = {d.owed.agency for d in dues} | {g.receiver for g in digests}
    people = _people(codes)
    names = agency_svc.names_for(codes | {i.owed.agency for g in digests for i in g.items})
    base = current_app.config["BASE_URL"]
    out = []
    for d in dues:
        o = d.owed
        title, label = ctx.titles[(o.regime, o.period)]
        recipients = people[o.agency][Role.REPORTER.value] or people[o.agency][Role.APPROVER.value]
        link = f"{base}/reports/{o.regime}/{o.agency}/{o.period}"
        when = rules.describe(o.deadline, now)
        missing_below, owed_below = ctx.below.get((o.regime, o.period, o.agency), (None, None))
        ctx_mail = dict(title=title, period=label, agency=names.get(o.agency, o.agency), deadline=_local(o.deadline),
                        when=when, link=link, overdue=d.overdue, regime=o.regime, missing_below=missing_below,
                        owed_below=owed_below)
        subject = one_line(f"[baocao] {'Quá hạn' if d.overdue else 'Nhắc hạn'}: {title} — {label} ({when})", 500)
        out.append(Planned(d.key, rules.REMINDER, o.agency, o.regime, o.period, d.step, o.deadline, recipients, subject,
                           render_template("reminder.txt", **ctx_mail), render_template("reminder.html", **ctx_mail),
                           link, f"{title} — {label}: {when}"))
    for g in digests:
        recipients = people[g.receiver][Role.APPROVER.value]
        items = [dict(agency=names.get(i.owed.agency, i.owed.agency), code=i.owed.agency, title=ctx.titles[(i.owed.regime, i.owed.period)][0],
                      period=ctx.titles[(i.owed.regime, i.owed.period)][1], deadline=_local(i.owed.deadline),
                      when=rules.describe(i.owed.deadline, now), status=i.owed.status) for i in g.items]
        link = f"{base}/inbox"
        subject = one_line(f"[baocao] {len(items)} báo cáo quá hạn gửi tới {names.get(g.receiver, g.receiver)}", 500)
        ctx_mail = dict(receiver=names.get(g.receiver, g.receiver), items=items, link=link, day=_local_day(now))
        out.append(Planned(g.key, rules.DIGEST, g.receiver, "*", g.day, 0, None, recipients, subject,
                           render_template("digest.txt", **ctx_mail), render_template("digest.html", **ctx_mail),
                           link, subject.removeprefix("[baocao] ")))
    return out


def _local(dt: datetime) -> str:
    return dt.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")


def _local_day(dt: datetime) -> str:
    return dt.astimezone(VN_TZ).strftime("%d/%m/%Y")


# ----------------------------------------------------------------------------------------- send
def send(*, now: datetime | None = None, dry_run: bool = False) -> RunResult:
    """Decide and queue what is due at `now`: claim each reminder by its unique key, then queue its
    mail and notifications in the same transaction. Delivery is `deliver()`."""
    now = now or utcnow()
    if now.tzinfo is None:
        raise Invalid("Thời điểm phải có múi giờ, ví dụ 2026-11-19T08:00:00+07:00")
    planned = plan(now=now)
    result = RunResult(now, planned, dry_run=dry_run)
    if dry_run:
        return result
    from .pki import warn_expiring

    result.certificates = warn_expiring(now=now)
    if not planned:
        return result
    values = [{"kind": p.kind, "regime_code": p.regime, "period_key": p.period, "agency_code": p.agency, "step": p.step,
               "deadline_at": p.deadline, "created_at": now, "recipients": len(p.recipients), "detail": p.title[:1000]}
              for p in planned]
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(ReminderEvent).on_conflict_do_nothing(index_elements=["kind", "regime_code", "period_key", "agency_code", "step"])
    claimed: dict[tuple, int] = {}
    for chunk in _chunks(values, 500):
        rows = db.session.execute(stmt.values(chunk).returning(
            ReminderEvent.id, ReminderEvent.kind, ReminderEvent.regime_code, ReminderEvent.period_key,
            ReminderEvent.agency_code, ReminderEvent.step)).all()
        claimed |= {(k, r, p, a, s): i for i, k, r, p, a, s in rows}
    mails, notes = [], []
    for p in planned:
        event_id = claimed.get(p.key)
        if event_id is None:
            continue  # another run or process claimed it first
        for uid, address, _name in p.recipients:
            notes.append({"user_id": uid, "event_id": event_id, "title": p.title[:500], "body": p.text[:4000],
                          "link": p.link, "created_at": now})
            if address:
                mails.append({"event_id": event_id, "user_id": uid, "to_address": address, "subject": p.subject[:500],
                              "body_text": p.text, "body_html": p.html, "status": "pending", "attempts": 0,
                              "next_attempt_at": now, "created_at": now})
    for chunk in _chunks(mails, 1000):
        db.session.execute(MailMessage.__table__.insert(), chunk)
    for chunk in _chunks(notes, 1000):
        db.session.execute(Notification.__table__.insert(), chunk)
    if mails:
        wake(now=now)  # their delivery job, in the same transaction
    faults.point("reminders.before_commit")  # crash tests: claimed and queued, not yet committed
    db.session.commit()
    result.claimed, result.messages, result.notifications = len(claimed), len(mails), len(notes)
    return result


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


# -------------------------------------------------------------------------------------- deliver
def unread_count(*, user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def notifications_of(*, user: User):
    return select(Notification).where(Notification.user_id == user.id).order_by(Notification.id.desc())


def mark_read(*, user: User) -> int:
    n = db.session.execute(update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
                           .values(read_at=utcnow())).rowcount
    db.session.commit()
    return n


def scope_codes(*, actor: User):
    """The agencies an administrator oversees (their own and every unit below it), as a subquery of
    codes: reminder events name agencies by code. The same scope as /admin/users and /admin/audit."""
    if not actor.has_role(Role.ADMIN):
        raise Forbidden("Chỉ quản trị hệ thống xem được nhật ký nhắc hạn")
    return select(Agency.code).where(Agency.id.in_(agency_svc.descendant_ids(agency_id=actor.agency_id)))


def planned_in_scope(*, actor: User, now: datetime) -> list[Planned]:
    """A dry run, limited to what concerns the administrator's agencies (names and addresses of
    people elsewhere are not theirs to see)."""
    codes = set(db.session.scalars(scope_codes(actor=actor)))
    return [p for p in send(now=now, dry_run=True).planned if p.agency in codes]


def log(*, actor: User, kind: str = "", regime: str = "", period: str = "", status: str = "", agency: str = "",
        day: date | None = None):
    """The reminder log for administrators: one row per message (or per event without mail), for
    the agencies in the administrator's scope."""
    stmt = (select(MailMessage).join(ReminderEvent, ReminderEvent.id == MailMessage.event_id)
            .where(ReminderEvent.agency_code.in_(scope_codes(actor=actor)))
            .options(contains_eager(MailMessage.event)).order_by(MailMessage.id.desc()))
    if kind:
        stmt = stmt.where(ReminderEvent.kind == kind)
    if regime:
        stmt = stmt.where(ReminderEvent.regime_code == regime)
    if period:
        stmt = stmt.where(ReminderEvent.period_key == period)
    if agency:
        stmt = stmt.where(ReminderEvent.agency_code == agency)
    if status:
        stmt = stmt.where(MailMessage.status == status)
    return stmt
