"""One-off notices to people — a report returned, approved or reopened, an ad hoc request, a
certificate about to expire: an in-app notification for each recipient and, for those who want
mail and have an address, a message in the outbox that the scheduler delivers over SMTP with the
reminders' retries. Each notice is claimed by a unique key first (a `ReminderEvent`), so that two
processes — or a retried request — never tell anyone twice."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from markupsafe import escape
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.domain.contacts import one_line
from app.extensions import db
from app.models import MailMessage, Notification, ReminderEvent, User
from app.models.base import utcnow

from .mail_delivery import wake


@dataclass(frozen=True)
class Notice:
    kind: str  # ≤ 20 characters: decision | request | cert-expiry
    key: tuple[str, str, str, int]  # (regime or "*", period or another key, agency code, step): unique per kind
    title: str  # the bell's line
    text: str  # the body: what happened, the reason, what to do
    link: str = ""  # path inside baocao (made absolute for mail)


def send(notice: Notice, recipients: list[User], *, now=None) -> int:
    """Queue the notice for the recipients (active accounts, each once); returns how many were
    told — 0 when the same notice was already sent. Commits with the caller's transaction."""
    now = now or utcnow()
    people = {u.id: u for u in recipients if u is not None and u.active}
    if not people:
        return 0
    regime, period, agency, step = notice.key
    values = {"kind": notice.kind[:20], "regime_code": regime[:40], "period_key": period[:40], "agency_code": agency[:40],
              "step": step, "created_at": now, "recipients": len(people), "detail": notice.title[:1000]}
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(ReminderEvent).values(values).on_conflict_do_nothing(
        index_elements=["kind", "regime_code", "period_key", "agency_code", "step"]).returning(ReminderEvent.id)
    event_id = db.session.execute(stmt).scalar()
    if event_id is None:
        return 0  # told already
    base = current_app.config["BASE_URL"]
    link = f"{base}{notice.link}" if notice.link.startswith("/") else notice.link
    title, text = one_line(notice.title, 500), notice.text[:4000]
    html = (f"<p>{escape(text)}</p>".replace("\n", "<br>")
            + (f'<p><a href="{escape(link)}">{escape(link)}</a></p>' if link else ""))
    mailed = False
    for user in people.values():
        db.session.add(Notification(user_id=user.id, event_id=event_id, title=title, body=text, link=notice.link, created_at=now))
        if user.email and user.mail_notices:
            db.session.add(MailMessage(event_id=event_id, user_id=user.id, to_address=user.email, subject=one_line(f"[baocao] {title}", 500),
                                       body_text=f"{text}\n\n{link}".strip(), body_html=html, status="pending", attempts=0,
                                       next_attempt_at=now, created_at=now))
            mailed = True
    if mailed:
        wake()  # delivered as soon as the caller commits — by a job queued in its transaction
    return len(people)
