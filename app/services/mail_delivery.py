"""Delivering queued mail (the outbox, `mail_messages`): lease, send over SMTP, mark sent at once.

Each message is leased first, so two deliverers never send the same one; it is marked sent in its
own commit the moment the server accepts it; a refused one is retried with back-off, then failed.
On PostgreSQL several SMTP connections deliver in parallel, each from its own process
(`MAIL_CONNECTIONS`, spawned once and kept: app/adapters/process_pools.py). Reminders and notices queue the messages (reminders.py, notices.py) and, in
the same transaction, a "mail" job that delivers them (`wake`): on any job worker (PostgreSQL) or
the local pool of the process that queued them (the embedded default). The scheduler wakes it
every minute for retries whose back-off has passed and anything a stopped process left."""
from __future__ import annotations

import email.policy
import os
import smtplib
import time
import uuid
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import select, update

from app import faults
from app.adapters.process_pools import SpawnedPool
from app.domain.contacts import check_email, one_line
from app.extensions import db
from app.models import Job, MailMessage
from app.models.base import utcnow

from . import jobs

BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))  # then failed
MAX_ATTEMPTS = len(BACKOFF) + 1


@dataclass
class DeliveryResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def deliver(*, now: datetime | None = None, limit: int = 1000) -> DeliveryResult:
    """Send queued mail. Each message is leased first, so two deliverers never send the same one;
    a refused message is retried with back-off and marked failed after its last attempt; one bad
    recipient never blocks the others."""
    now = now or utcnow()
    token = uuid.uuid4().hex
    db.session.execute(update(MailMessage).where(MailMessage.status == "sending", MailMessage.lease_until < now)
                       .values(status="pending", lease=None))
    ids = db.session.scalars(select(MailMessage.id).where(MailMessage.status == "pending", MailMessage.next_attempt_at <= now)
                             .order_by(MailMessage.id).limit(limit)).all()
    if ids:
        db.session.execute(update(MailMessage).where(MailMessage.id.in_(ids), MailMessage.status == "pending")
                           .values(status="sending", lease=token, lease_until=now + timedelta(minutes=10)))
    db.session.commit()
    ids = _leased(token)
    result = DeliveryResult()
    if not ids:
        return result
    connections = max(1, min(current_app.config.get("MAIL_CONNECTIONS", 1), len(ids) // 50 + 1))
    if connections == 1 or db.engine.dialect.name != "postgresql":  # SQLite: one writer at a time anyway
        _send(db.session, _smtp_config(), ids, now, result)
        return result
    # several SMTP connections, each in its own process with its own database connection (threads
    # shared one interpreter lock: 86 messages/s over four): the leased messages split between them,
    # each still marked sent in its own commit the moment the server accepts it (never twice)
    for r in _in_processes([ids[i::connections] for i in range(connections)], token, now):
        result.sent, result.retried, result.failed = result.sent + r.sent, result.retried + r.retried, result.failed + r.failed
    return result


def _leased(token: str) -> list[int]:
    return db.session.scalars(select(MailMessage.id).where(MailMessage.lease == token, MailMessage.status == "sending")
                              .order_by(MailMessage.id)).all()


def _smtp_config() -> dict:
    return {k: current_app.config[k] for k in ("MAIL_SERVER", "MAIL_PORT", "MAIL_TIMEOUT", "MAIL_USE_TLS", "MAIL_USERNAME",
                                               "MAIL_PASSWORD", "MAIL_SENDER")}


def wake(*, due_only: bool = False, now: datetime | None = None) -> Job | None:
    """Queue a "mail" job in the caller's transaction (it exists if and only if the transaction
    commits). One job queued in the last minute is enough: it leases whatever is due when it starts — a job that
    started just before this transaction committed leaves its messages to the next wake (at most a
    minute: the scheduler's). `due_only`: only if a message is due (the scheduler's minute)."""
    if not current_app.config.get("MAIL_JOBS", True):
        return None
    # a job queued a minute ago and not started was left by a process that stopped (a command's, on
    # the embedded default) or waits behind other work: queue another rather than wait for it
    fresh = utcnow() - timedelta(minutes=1)
    if db.session.scalar(select(Job.id).where(Job.kind == "mail", Job.status == "queued", Job.created_at > fresh).limit(1)) is not None:
        return None
    at = now or utcnow()
    if due_only and db.session.scalar(select(MailMessage.id).where(
            ((MailMessage.status == "pending") & (MailMessage.next_attempt_at <= at))
            | ((MailMessage.status == "sending") & (MailMessage.lease_until < at))).limit(1)) is None:
        return None
    # a rehearsal's frozen clock (BAOCAO_CLOCK) travels with the job; otherwise the job reads the
    # clock when it runs — an instant from when it was queued could lease for less than it thinks
    args = {"now": now.isoformat()} if now is not None and os.environ.get("BAOCAO_CLOCK") else {}
    return jobs.enqueue(kind="mail", args=args, key=f"mail-{uuid.uuid4().hex}", max_attempts=5)


@jobs.handler("mail")
def _deliver_job(job: Job, progress: jobs.Progress) -> jobs.Result:
    """Deliver until nothing is due (at most 50 leases of 1,000; the next wake takes the rest), over
    MAIL_CONNECTIONS connections from the deliverers this worker keeps (spawned: a job runs in a
    thread of its worker, and forking there hung once in CI)."""
    total = DeliveryResult()
    now = datetime.fromisoformat(job.args["now"]) if job.args.get("now") else None
    for _ in range(50):
        r = deliver(now=now, limit=1000)
        total.sent, total.retried, total.failed = total.sent + r.sent, total.retried + r.retried, total.failed + r.failed
        progress(f"Đã gửi {total.sent} thư")
        if r.sent + r.retried + r.failed < 1000:
            break
    return jobs.Result(note=f"Đã gửi {total.sent} thư, {total.retried} sẽ thử lại, {total.failed} thất bại")


_STATE = {"busy": False, "stop": False}  # in a deliverer: a message between its sending and its commit


def _deliverer_started() -> None:
    """In a delivering process, as it starts: SIGTERM — its pool broken by another deliverer's
    death, or its parent gone — ends it at once between two messages, and only after the commit
    of the message in hand otherwise (stopped between the server's "250 OK" and the commit, that
    message would be sent again)."""
    import signal

    def stop(_signum, _frame) -> None:
        if _STATE["busy"]:
            _STATE["stop"] = True
        else:
            os._exit(0)

    signal.signal(signal.SIGTERM, stop)


_deliverers = SpawnedPool(_deliverer_started)  # MAIL_CONNECTIONS processes, started at the first burst (or by `warm`), kept


def warm() -> None:
    """Start the delivering processes now (a job worker and the scheduler do at start, on
    PostgreSQL), so the first burst of mail does not wait for them."""
    if db.engine.dialect.name == "postgresql" and current_app.config.get("MAIL_CONNECTIONS", 1) > 1:
        _deliverers.warm(current_app.config["MAIL_CONNECTIONS"], _ready)


def _ready() -> bool:
    return True  # the module and its imports are loaded: the first burst only connects


def _in_processes(parts: list[list[int]], token: str, now: datetime) -> list[DeliveryResult]:
    """Each part on one delivering process; if one dies (killed, out of memory), the messages of
    this lease not yet marked sent are sent from here and the next burst gets new processes."""
    url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    smtp = _smtp_config()
    db.session.commit()  # no snapshot held open while the deliverers write
    pool = _deliverers.get(len(parts))
    results: list[DeliveryResult] = []
    helpers = []
    try:
        futures = [pool.submit(_deliver_part, url, smtp, part, now) for part in parts]
        helpers = _deliverers.processes()
        broken = False
        for f in futures:
            try:
                results.append(f.result())
            except BrokenProcessPool:
                broken = True
    except BrokenProcessPool:  # a deliverer died since the last burst
        broken = True
    if broken:
        _deliverers.discard(pool)
        # the others were told to stop (SIGTERM): each commits the message in hand first — wait for
        # that, or this process would send it again
        deadline = time.monotonic() + float(current_app.config.get("MAIL_TIMEOUT", 30)) + 5
        for p in helpers:
            p.join(max(0.0, deadline - time.monotonic()))
        db.session.expire_all()
        rest = DeliveryResult()
        _send(db.session, smtp, _leased(token), now, rest)
        results.append(rest)
    return results


_ENGINES: dict = {}  # in a delivering process: one engine per database, kept between bursts


def _deliver_part(url: str, smtp: dict, ids: list[int], now: datetime) -> DeliveryResult:
    """In a delivering process (no Flask app there: a plain SQLAlchemy session on the models)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    if url not in _ENGINES:
        _ENGINES[url] = create_engine(url, pool_size=1, max_overflow=0, pool_pre_ping=True)
    out = DeliveryResult()
    with Session(_ENGINES[url]) as session:
        _send(session, smtp, ids, now, out)
    return out


def _send(session, cfg: dict, ids: list[int], now: datetime, result: DeliveryResult) -> None:
    """Send leased messages over one SMTP connection. The messages are read once as plain rows and
    each is marked sent by one UPDATE, committed the moment the server accepts it (ORM objects
    would be expired by every commit and read again: a query more per message)."""
    m_ = MailMessage
    batch = session.execute(select(m_.id, m_.to_address, m_.subject, m_.body_text, m_.body_html)
                               .where(m_.id.in_(ids)).order_by(m_.id)).all()
    try:
        smtp = smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"])
        if cfg["MAIL_USE_TLS"]:
            smtp.starttls()
        if cfg["MAIL_USERNAME"]:
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
    except (OSError, smtplib.SMTPException) as exc:
        for row in batch:
            _retry(session.get(MailMessage, row.id), now, f"không kết nối được máy chủ thư: {exc}", result)
        session.commit()
        return
    try:
        for row in batch:
            try:
                _STATE["busy"] = True
                smtp.send_message(_message(row, cfg["MAIL_SENDER"]))
                session.execute(update(m_).where(m_.id == row.id).values(status="sent", sent_at=utcnow(), attempts=m_.attempts + 1,
                                                                             lease=None))
                session.commit()  # at once: a crash must not leave sent mail marked "sending" (resent later)
                result.sent += 1
                _between_messages()
                faults.point("deliver.marked")  # crash tests: between two messages
            except smtplib.SMTPServerDisconnected as exc:
                _retry(session.get(MailMessage, row.id), now, str(exc), result)
                smtp = smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"])
            except (smtplib.SMTPException, OSError) as exc:
                _retry(session.get(MailMessage, row.id), now, str(exc), result)
            except Exception as exc:  # noqa: BLE001 — a message that cannot be built (bad address, header) fails alone
                m = session.get(MailMessage, row.id)
                m.attempts, m.lease, m.status = m.attempts + 1, None, "failed"
                m.last_error = f"không tạo được thư: {exc}"[:1000]
                result.failed += 1
            session.commit()
            _between_messages()
    finally:
        session.commit()
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass


def _between_messages() -> None:
    _STATE["busy"] = False
    if _STATE["stop"]:  # a deliverer asked to stop (SIGTERM) stops here, its message recorded
        os._exit(0)


def _retry(m: MailMessage, now: datetime, error: str, result: DeliveryResult) -> None:
    m.attempts += 1
    m.last_error = error[:1000]
    m.lease = None
    if m.attempts >= MAX_ATTEMPTS:
        m.status = "failed"
        result.failed += 1
    else:
        m.status = "pending"
        m.next_attempt_at = now + BACKOFF[m.attempts - 1]
        result.retried += 1


# Long Vietnamese subjects: the default folding drops the space between two RFC 2047 encoded
# words ("mức bán" → "mứcbán"); lines of up to 998 characters keep them whole.
MAIL_POLICY = email.policy.SMTP.clone(max_line_length=998)


def _message(m, sender: str) -> EmailMessage:
    """The message to send, from a queued one (a MailMessage or a row with its columns)."""
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["Subject"] = one_line(m.subject, 500)
    msg["From"] = sender
    msg["To"] = check_email(m.to_address)  # stored before addresses were checked? refused here, that message only
    # stable per message: if a crash falls between the server's "250 OK" and our commit, the resent
    # copy carries the same Message-ID, which mail clients treat as the same message
    domain = sender.rsplit("@", 1)[-1].strip(" >") or "baocao.local"
    msg["Message-ID"] = f"<baocao-mail-{m.id}@{domain}>"
    msg.set_content(m.body_text)
    msg.add_alternative(m.body_html, subtype="html")
    return msg


# ------------------------------------------------------------------------------ notifications
