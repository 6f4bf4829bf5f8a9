"""Reminders end to end against a real SMTP server on localhost: replaying November 2026 of the
monthly retail report step by step (each step run twice), submissions stopping reminders, the
approvers' digest, dry runs, retries, and the bell."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from app.domain.deadlines import VN_TZ
from app.extensions import db
from app.models import MailMessage, Notification, ReminderEvent, User
from app.services import decisions as decisions_svc
from app.services import reminders as svc
from app.services import sending as sending_svc
from app.services import submissions as submissions_svc
from tests.helpers import retail_values

REPORTER, APPROVER = "canbo.sct@baocao.local", "pheduyet.hn@baocao.local"


def at(day: int, hour: int = 8, minute: int = 5) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=VN_TZ)


def run(runner, when: datetime, *extra):
    result = runner.invoke(args=["reminders", "send", "--at", when.isoformat(), *extra])
    assert result.exit_code == 0, result.output
    return result.output


def subjects(box, address):
    return [m["Subject"] for m in box.to(address)]


# (day, what canbo.sct — Sở Công Thương Hà Nội, tier 1, deadline 17/11 — and pheduyet.hn — UBND
# Hà Nội: its own tier-2 report due 20/11, and the digest of its late departments — receive)
TITLE = "Báo cáo tổng mức bán lẻ hàng hóa và doanh thu dịch vụ tiêu dùng — Tháng 11/2026"
DIGEST_HN = "[baocao] 1 báo cáo quá hạn gửi tới Thành phố Hà Nội"
MONTH = [
    (12, [f"[baocao] Nhắc hạn: {TITLE} (còn 5 ngày)"], []),
    (15, [], [f"[baocao] Nhắc hạn: {TITLE} (còn 5 ngày)"]),
    (16, [f"[baocao] Nhắc hạn: {TITLE} (còn 1 ngày)"], []),
    (17, [f"[baocao] Nhắc hạn: {TITLE} (hạn hôm nay)"], []),
    (18, [f"[baocao] Quá hạn: {TITLE} (quá hạn 1 ngày)"], [DIGEST_HN]),
    (19, [], [f"[baocao] Nhắc hạn: {TITLE} (còn 1 ngày)"]),
    (20, [f"[baocao] Quá hạn: {TITLE} (quá hạn 3 ngày)"], [DIGEST_HN, f"[baocao] Nhắc hạn: {TITLE} (hạn hôm nay)"]),
    (21, [], [f"[baocao] Quá hạn: {TITLE} (quá hạn 1 ngày)"]),
    (23, [], [f"[baocao] Quá hạn: {TITLE} (quá hạn 3 ngày)"]),
    (24, [f"[baocao] Quá hạn: {TITLE} (quá hạn 7 ngày)"], [DIGEST_HN]),
]


def test_replaying_a_month_sends_exactly_the_expected_messages(runner, smtp):
    for day, reporter, approver in MONTH:
        before_r, before_a = len(smtp.to(REPORTER)), len(smtp.to(APPROVER))
        run(runner, at(day))
        run(runner, at(day, 8, 40))  # the same step again: nothing new
        got_r, got_a = subjects(smtp, REPORTER)[before_r:], subjects(smtp, APPROVER)[before_a:]
        assert got_r == reporter, day
        assert sorted(got_a) == sorted(approver), day
    ministry = subjects(smtp, "pheduyet.bct@baocao.local")  # the ministry's approver: its late provinces, as digests
    assert ministry and all(s.startswith("[baocao] ") and "quá hạn gửi tới Bộ Công Thương" in s for s in ministry)
    assert len(smtp.messages) - len(ministry) == 14
    assert all(len(rcpt) == 1 for rcpt, _ in smtp.messages)


def test_the_email_names_regime_period_deadline_and_links_to_the_form(runner, smtp):
    run(runner, at(17))
    (message,) = smtp.to(REPORTER)
    assert message["From"] == "baocao <noreply@baocao.local>"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Báo cáo tổng mức bán lẻ hàng hóa và doanh thu dịch vụ tiêu dùng (BCT-BANLE)" in text
    assert "Kỳ:        Tháng 11/2026" in text and "23:59 17/11/2026 (giờ Việt Nam)" in text and "hạn hôm nay" in text
    assert "/reports/BCT-BANLE/T01.SCT/2026-M11" in text
    assert 'href="http://127.0.0.1:5000/reports/BCT-BANLE/T01.SCT/2026-M11"' in html and "Sở Công Thương thành phố Hà Nội" in html


def submit_m11(now):
    reporter = db.session.scalar(select(User).where(User.username == "canbo.sct"))
    report = submissions_svc.open_report(user=reporter, regime_code="BCT-BANLE", agency_code="T01.SCT",
                                         period_key="2026-M11", for_write=True)
    result = submissions_svc.save(user=reporter, report=report, raw={(k, ""): (str(v), False, "") for k, v in retail_values().items()},
                                  outline={}, revision=None, now=now)
    return result.submission, reporter


def test_a_draft_still_gets_reminders_a_submission_stops_them_a_return_restarts_them(runner, smtp):
    sub, reporter = submit_m11(at(15))
    run(runner, at(16))
    assert len(smtp.to(REPORTER)) == 1  # a draft is not a submission
    sending_svc.submit(user=reporter, submission_id=sub.id, now=at(16, 10))
    run(runner, at(17))
    run(runner, at(18))
    assert len(smtp.to(REPORTER)) == 1
    assert not any("Hà Nội" in s and "quá hạn gửi tới" in s for s in subjects(smtp, APPROVER))  # no digest: nothing late
    approver = db.session.scalar(select(User).where(User.username == "pheduyet.hn"))
    decisions_svc.return_(user=approver, submission_id=sub.id, reason="Sai số liệu dòng 1")
    run(runner, at(20))
    assert subjects(smtp, REPORTER)[-1].endswith("(quá hạn 3 ngày)")


def test_a_dry_run_shows_and_writes_nothing(runner, smtp):
    output = run(runner, at(18), "--dry-run")
    assert "Chạy thử" in output and "canbo.sct@baocao.local" in output and "digest" in output
    assert db.session.scalar(select(func.count()).select_from(ReminderEvent)) == 0
    assert smtp.messages == []


def test_a_refused_recipient_is_retried_with_back_off_then_failed_without_blocking_others(app, smtp):
    smtp.refuse.add(REPORTER)
    svc.send(now=at(18))
    first = svc.deliver(now=at(18))
    assert first.sent == 1 and first.retried == 1  # the approver's digest went; the reporter's is retried
    refused = db.session.scalar(select(MailMessage).where(MailMessage.to_address == REPORTER))
    assert refused.status == "pending" and refused.attempts == 1 and "550" in refused.last_error
    assert svc.deliver(now=at(18, 8, 5)).sent == 0  # back-off: not yet
    for minutes in (7, 13, 45):
        svc.deliver(now=at(18, 8, minutes) if minutes < 60 else at(18, 9))
    svc.deliver(now=at(18, 10))
    db.session.refresh(refused)
    assert refused.status == "failed" and refused.attempts == 4
    assert smtp.to(REPORTER) == [] and len(smtp.to(APPROVER)) == 1


def test_an_unreachable_mail_server_loses_nothing(app, smtp):
    app.config["MAIL_PORT"] = 1  # nothing listens there
    svc.send(now=at(17))
    result = svc.deliver(now=at(17))
    assert result.sent == 0 and result.retried == 1
    app.config["MAIL_PORT"] = smtp.port
    assert svc.deliver(now=at(17, 9)).sent == 1 and len(smtp.to(REPORTER)) == 1


def test_the_bell_and_the_notification_list(client, auth, runner, smtp):
    run(runner, at(17))
    run(runner, at(18))
    auth.login()
    page = client.get("/reports").get_data(as_text=True)
    assert 'data-testid="bell-count">2<' in page
    listing = client.get("/notifications").get_data(as_text=True)
    assert "quá hạn 1 ngày" in listing and "hạn hôm nay" in listing
    client.post("/notifications/read")
    assert 'data-testid="bell-count"' not in client.get("/reports").get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Notification).where(Notification.read_at.is_(None),
                                                                                      Notification.user_id == 1)) == 0


def test_administrators_see_the_log_and_can_dry_run(client, auth, runner, smtp):
    run(runner, at(18))
    auth.login("quantri", "baocao-demo-2026")
    log = client.get("/admin/reminders?kind=digest").get_data(as_text=True)
    assert APPROVER in log and REPORTER not in log
    dry = client.post("/admin/reminders", data={"at": "2026-11-20T08:10"}).get_data(as_text=True)
    assert "quá hạn 3 ngày" in dry and REPORTER in dry
    assert db.session.scalar(select(func.count()).select_from(ReminderEvent)) == 68  # the dry run added nothing
    auth.logout()
    auth.login()
    assert client.get("/admin/reminders").status_code == 403


@pytest.mark.parametrize("value", ["hôm qua", "2026-13-01T08:00"])
def test_a_bad_instant_is_refused_clearly(runner, value):
    result = runner.invoke(args=["reminders", "send", "--at", value])
    assert result.exit_code == 2 and "ISO 8601" in result.output
