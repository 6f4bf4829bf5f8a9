"""People are told what happened to their reports: a return (with its reason), an approval, a
reopening, an ad hoc request — under the bell and by mail as each prefers, once, in the same
transaction as the decision."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import MailMessage, Notification
from app.services import decisions as decisions_svc
from app.services import reminders as reminders_svc
from app.services import requests as requests_svc
from app.services import sending as sending_svc
from app.services.errors import Conflict
from tests.integration.test_submissions import ON_TIME, save, user


def _told(username: str) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user(username).id).order_by(Notification.id)))


def _mails(username: str) -> list[MailMessage]:
    return list(db.session.scalars(select(MailMessage).where(MailMessage.user_id == user(username).id)))


def test_a_returned_report_tells_the_reporter_why_with_a_link_and_a_mail(app, smtp):
    reporter, approver = user("canbo.sct"), user("pheduyet.hn")
    sub = save(reporter).submission
    sending_svc.submit(user=reporter, submission_id=sub.id, now=ON_TIME)
    assert _told("canbo.sct") == []
    decisions_svc.return_(user=approver, submission_id=sub.id, reason="Thiếu số liệu siêu thị Đông Anh")
    [note] = _told("canbo.sct")
    assert note.title == "Báo cáo bị trả lại: Báo cáo tổng mức bán lẻ hàng hóa và doanh thu dịch vụ tiêu dùng — Tháng 12/2026"
    assert "Lý do: Thiếu số liệu siêu thị Đông Anh" in note.body and "Trần Văn Minh" in note.body
    assert note.link == f"/submissions/{sub.id}"
    reminders_svc.deliver()
    [(to, mail)] = [(t, m) for t, m in smtp.messages if "canbo.sct@baocao.local" in t]
    assert "Thiếu số liệu siêu thị Đông Anh" in mail.get_body(("plain",)).get_content()
    assert _told("pheduyet.hn") == []  # the one who decided is not told of their own decision


def test_approval_and_reopening_are_told_and_a_stale_retry_tells_nobody_twice(app):
    reporter, approver = user("canbo.sct"), user("pheduyet.hn")
    sub = save(reporter).submission
    sending_svc.submit(user=reporter, submission_id=sub.id, now=ON_TIME)
    revision = sub.revision
    decisions_svc.approve(user=approver, submission_id=sub.id, revision=revision)
    with pytest.raises(Conflict):
        decisions_svc.approve(user=approver, submission_id=sub.id, revision=revision)  # a double click
    assert [n.title.split(":")[0] for n in _told("canbo.sct")] == ["Báo cáo đã được duyệt"]
    late = sub.lock_at + timedelta(days=1)
    decisions_svc.reopen(user=approver, submission_id=sub.id, reason="Bổ sung số liệu quý", now=late)
    titles = [n.title.split(":")[0] for n in _told("canbo.sct")]
    assert titles == ["Báo cáo đã được duyệt", "Báo cáo được mở lại"] and "Bổ sung số liệu quý" in _told("canbo.sct")[1].body


def test_an_ad_hoc_request_tells_the_reporters_of_each_agency_asked(app):
    deadline = datetime.now(UTC) + timedelta(days=5)
    req = requests_svc.issue_request(user=user("thietke.bct"), regime_code="BCT-BANLE", title="Báo cáo nhanh dịp Tết", content="Số liệu 20 ngày",
                                     agency_codes=["T01.SCT"], deadline=deadline, data_from=date(2026, 11, 1), data_to=date(2026, 11, 20))
    [note] = _told("canbo.sct")
    assert note.title == "Yêu cầu báo cáo đột xuất: Báo cáo nhanh dịp Tết"
    assert "hạn gửi" in note.body and note.link.endswith(f"/reports/BCT-BANLE/T01.SCT/{req.period_key}")


def test_who_declines_mail_is_told_in_the_app_only_and_chooses_it_on_their_page(app, client, auth):
    auth.login("canbo.sct")
    page = client.get("/profile").get_data(as_text=True)
    assert 'name="mail"' in page and "checked" in page
    client.post("/profile/notices", data={})  # the box unticked
    assert user("canbo.sct").mail_notices is False
    reporter = user("canbo.sct")
    sub = save(reporter).submission
    sending_svc.submit(user=reporter, submission_id=sub.id, now=ON_TIME)
    decisions_svc.return_(user=user("pheduyet.hn"), submission_id=sub.id, reason="Sai đơn vị tính")
    assert len(_told("canbo.sct")) == 1 and _mails("canbo.sct") == []
    client.post("/profile/notices", data={"mail": "1"})
    assert user("canbo.sct").mail_notices is True
    bell = client.get("/notifications").get_data(as_text=True)
    assert "Báo cáo bị trả lại" in bell and "Sai đơn vị tính" in bell
    assert db.session.scalar(select(func.count()).select_from(MailMessage)) == 0
