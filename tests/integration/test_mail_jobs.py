"""Mail delivery on the job queue: a notice queues its messages and, in the same transaction, a
"mail" job; the job delivers them over SMTP (a real local server). One queued job is enough; the
scheduler's minute queues one only for what is due. Several workers on PostgreSQL:
tests/integration/test_job_workers.py; the scheduler's own process: test_scheduler_process.py."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Job, MailMessage, User
from app.models.base import utcnow
from app.services import mail_delivery, notices


@pytest.fixture
def mail_jobs(app):
    app.config["MAIL_JOBS"] = True
    yield
    app.config["MAIL_JOBS"] = False


def mail_jobs_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Job).where(Job.kind == "mail")) or 0


def test_a_notice_queues_its_delivery_job_and_the_job_delivers_it(app, smtp, mail_jobs):
    clerk = db.session.scalar(select(User).where(User.username == "canbo.sct"))
    before = mail_jobs_count()
    told = notices.send(notices.Notice("decision", ("BCT-BANLE", "2026-M12", "T01.SCT", 7), "Báo cáo bị trả lại",
                                       "Sở Công Thương Hà Nội: sửa số liệu bán lẻ tháng 12 và gửi lại."), [clerk])
    assert told == 1
    db.session.commit()
    job = db.session.scalar(select(Job).where(Job.kind == "mail").order_by(Job.id.desc()))
    assert mail_jobs_count() == before + 1 and job.status == "done" and job.step == "Đã gửi 1 thư, 0 sẽ thử lại, 0 thất bại"
    [message] = smtp.to(clerk.email)
    assert message["Subject"] == "[baocao] Báo cáo bị trả lại" and "tháng 12" in message.get_body(("plain",)).get_content()
    assert db.session.scalar(select(MailMessage.status).where(MailMessage.to_address == clerk.email)) == "sent"


def test_one_queued_job_is_enough_and_the_minute_queues_one_only_for_what_is_due(app, mail_jobs):
    app.config["JOBS_INLINE"] = False  # queued, not run: the test looks at the queue
    try:
        now = utcnow()
        assert mail_delivery.wake(due_only=True, now=now) is None  # nothing due: no job
        from app.models import ReminderEvent

        event = ReminderEvent(kind="reminder", regime_code="BCT-BANLE", period_key="2026-M12", agency_code="T01.SCT", step=0)
        db.session.add(event)
        db.session.flush()
        db.session.add(MailMessage(event_id=event.id, to_address="canbo.sct@baocao.local", subject="Nhắc hạn", body_text="Hạn nộp",
                                   body_html="<p>Hạn nộp</p>", status="pending", attempts=1, next_attempt_at=now + timedelta(minutes=5)))
        db.session.flush()
        assert mail_delivery.wake(due_only=True, now=now) is None  # a retry whose back-off has not passed
        job = mail_delivery.wake(due_only=True, now=now + timedelta(minutes=6))
        assert job is not None and job.status == "queued" and job.kind == "mail"
        assert mail_delivery.wake() is None and mail_delivery.wake(due_only=True, now=now + timedelta(minutes=6)) is None
        assert db.session.scalar(select(func.count()).select_from(Job).where(Job.kind == "mail", Job.status == "queued")) == 1
        # …but a job queued more than a minute ago and never started (its process stopped) does not hold the mail back
        job.created_at = utcnow() - timedelta(minutes=2)
        db.session.flush()
        again = mail_delivery.wake()
        assert again is not None and again.id != job.id
    finally:
        app.config["JOBS_INLINE"] = True


def test_with_mail_jobs_off_nothing_is_queued(app):
    clerk = db.session.scalar(select(User).where(User.username == "canbo.sct"))
    before = mail_jobs_count()
    notices.send(notices.Notice("decision", ("BCT-BANLE", "2026-M12", "T01.SCT", 8), "Báo cáo đã được duyệt", "Đã duyệt."), [clerk])
    db.session.commit()
    assert mail_jobs_count() == before  # left to the scheduler's minute (MAIL_JOBS=false)
    assert db.session.scalar(select(MailMessage.status).where(MailMessage.to_address == clerk.email)) == "pending"


def test_done_mail_jobs_past_the_retention_are_removed_other_jobs_stay(app):
    from app.services import jobs

    old = utcnow() - timedelta(days=30)
    for kind in ("mail", "probe"):
        db.session.add(Job(kind=kind, key=f"{kind}-old", args={}, status="done", created_at=old, finished_at=old))
    db.session.add(Job(kind="mail", key="mail-new", args={}, status="done", created_at=utcnow(), finished_at=utcnow()))
    db.session.commit()
    jobs.prune(days=7)
    assert sorted(db.session.scalars(select(Job.key).where(Job.key.in_(["mail-old", "probe-old", "mail-new"])))) == ["mail-new", "probe-old"]


def test_the_cli_queues_a_mail_job_for_what_is_due(app, runner, smtp, mail_jobs):
    from app.models import ReminderEvent

    assert "Không có thư đến lượt gửi" in runner.invoke(args=["reminders", "deliver", "--background"]).output
    event = ReminderEvent(kind="reminder", regime_code="BCT-BANLE", period_key="2026-M12", agency_code="T04.SCT", step=0)
    db.session.add(event)
    db.session.flush()
    db.session.add(MailMessage(event_id=event.id, to_address="canbo.hcm@baocao.local", subject="Nhắc hạn", body_text="Hạn nộp",
                               body_html="<p>Hạn nộp</p>", status="pending", attempts=0, next_attempt_at=utcnow()))
    db.session.commit()
    result = runner.invoke(args=["reminders", "deliver", "--background"])
    assert result.exit_code == 0 and "Đã xếp việc gửi thư số" in result.output
    assert len(smtp.to("canbo.hcm@baocao.local")) == 1  # run at once here (JOBS_INLINE); by a worker elsewhere
