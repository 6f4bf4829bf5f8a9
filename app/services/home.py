"""Each role's home page: what this person must do now. Reporters — overdue, locked, returned,
due soon; approvers — reports waiting for their decision, their own agency's reports; designers —
their drafts and the regimes their ministry has in force; analysts — the latest period of each
regime with how complete it is; administrators — accounts, mail that could not be delivered,
certificates about to expire. Reads only; every list is the user's own scope."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.domain.workflow import Status
from app.extensions import db
from app.models import MailMessage, Regime, RegimeDraft, Role, Submission, User
from app.models.base import utcnow

from . import listings

DUE_SOON_DAYS = 14


@dataclass
class Home:
    role: str
    overdue: list = field(default_factory=list)  # listings.ReportRow
    locked: list = field(default_factory=list)
    returned: list = field(default_factory=list)
    due_soon: list = field(default_factory=list)
    waiting: list = field(default_factory=list)  # Submission addressed to the approver's scope, sent, not decided
    waiting_total: int = 0
    drafts: list = field(default_factory=list)  # RegimeDraft of the designer's ministry
    regimes: list = field(default_factory=list)  # Regime issued by it (designer) or with data (analyst)
    coverage: list = field(default_factory=list)  # (Regime, Period, CompletenessTotals) for analysts
    accounts: dict = field(default_factory=dict)  # active, locked (administrator)
    mail_failed: int = 0
    mail_stuck: int = 0
    expiring: list = field(default_factory=list)  # AgencyCertificate


def _own_reports(home: Home, user: User, now: datetime) -> None:
    rows = listings.my_reports(user=user, now=now)
    open_ = [r for r in rows if r.status not in (Status.SUBMITTED, Status.APPROVED)]
    home.locked = [r for r in open_ if r.locked]
    home.overdue = [r for r in open_ if r.late and not r.locked]
    home.returned = [r for r in open_ if r.status is Status.RETURNED and not r.late and not r.locked]
    home.due_soon = [r for r in open_ if not r.late and not r.locked and r.status is not Status.RETURNED
                     and 0 <= r.days_left <= DUE_SOON_DAYS]


def home_of(*, user: User, now: datetime | None = None) -> Home:
    now = now or utcnow()
    home = Home(user.role)
    if user.has_role(Role.REPORTER, Role.APPROVER):
        _own_reports(home, user, now)
    if user.has_role(Role.APPROVER):
        stmt = listings.list_submissions(user=user, inbox=True, status=Status.SUBMITTED.value)
        home.waiting_total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
        home.waiting = list(db.session.scalars(stmt.order_by(None).order_by(Submission.deadline_at, Submission.id).limit(10)))
    if user.has_role(Role.DESIGNER):
        code = user.agency.code
        home.drafts = list(db.session.scalars(select(RegimeDraft).where(RegimeDraft.issuing_agency_code == code)
                                              .order_by(RegimeDraft.updated_at.desc()).limit(10)))
        today = now.date()
        home.regimes = [r for r in db.session.scalars(select(Regime).where(Regime.issuing_agency_code == code).order_by(Regime.code))
                        if r.valid_from <= today and (r.valid_to is None or r.valid_to >= today)]
    if user.has_role(Role.ANALYST):
        from . import center, center_nav, completeness

        for regime in center_nav.regimes_with_data()[:6]:
            period = center_nav.latest_period(regime)
            if period is None:
                continue
            cv = completeness.completeness(user=user, regime=regime.code, period=period, unit=center.scope_of(user) or center.NATION,
                                     periods=1)
            home.coverage.append((regime, cv.periods[-1] if cv.periods else None, cv.totals.get(period)))
    if user.has_role(Role.ADMIN):
        from . import pki
        from .agencies import descendant_ids

        scope = descendant_ids(agency_id=user.agency_id)
        counts = dict(db.session.execute(select(User.active, func.count()).where(User.agency_id.in_(scope))
                                         .group_by(User.active)).all())
        home.accounts = {"active": counts.get(True, 0), "locked": counts.get(False, 0)}
        week = now - timedelta(days=7)
        home.mail_failed = db.session.scalar(select(func.count()).select_from(MailMessage).where(
            MailMessage.status == "failed", MailMessage.created_at >= week)) or 0
        home.mail_stuck = db.session.scalar(select(func.count()).select_from(MailMessage).where(
            MailMessage.status == "pending", MailMessage.created_at < now - timedelta(hours=1))) or 0
        home.expiring = [c for c in db.session.scalars(pki.all_certificates(actor=user))
                         if c.retired_at is None and c.not_after <= now + timedelta(days=pki.WARN_DAYS)][:10]
    return home
