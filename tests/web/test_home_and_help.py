"""Each role opens on what it must do now, and help is one click from every page."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import MailMessage, ReminderEvent, User
from app.services import decisions as decisions_svc
from app.services import sending as sending_svc
from app.services import submissions as svc
from tests.helpers import retail_values


def user(name):
    return db.session.scalar(select(User).where(User.username == name))


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def _send(period="2026-M12", now=datetime(2026, 12, 10, 3, tzinfo=UTC)):
    reporter = user("canbo.sct")
    report = svc.open_report(user=reporter, regime_code="BCT-BANLE", agency_code="T01.SCT", period_key=period, for_write=True)
    saved = svc.save(user=reporter, report=report, raw={(k, ""): (str(v), False, "") for k, v in retail_values().items()},
                     outline={}, revision=None, now=now)
    sending_svc.submit(user=reporter, submission_id=saved.submission.id, now=now)
    return saved.submission


def test_the_reporter_sees_overdue_and_returned_reports_first(app, client, auth):
    sub = _send()
    decisions_svc.return_(user=user("pheduyet.hn"), submission_id=sub.id, reason="Thiếu số liệu")
    auth.login("canbo.sct")
    page = client.get("/")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    returned = body[body.index('data-testid="home-returned"'):].split("</ul>")[0]
    assert "Tháng 12/2026" in returned and "/reports/BCT-BANLE/T01.SCT/2026-M12" in returned  # the returned report, to fix
    overdue = body[body.index('data-testid="home-overdue"'):].split("</ul>")[0]
    assert "quá hạn" in overdue and "Tháng 12/2026" not in overdue  # earlier periods never sent (the test data) are overdue


def test_the_approver_sees_what_waits_for_their_decision(app, client, auth):
    _send()
    auth.login("pheduyet.hn")
    page = text(client.get("/"))
    assert "Chờ tôi duyệt (1)" in page and "Sở Công Thương thành phố Hà Nội" in page and "Xem và duyệt" in page


def test_the_designer_sees_drafts_and_regimes_in_force(app, client, auth):
    auth.login("thietke.bct")
    client.get("/designer/BCT-BANLE")  # opens a draft
    page = text(client.get("/"))
    assert "Bản nháp đang soạn" in page and "Chế độ báo cáo đang có hiệu lực" in page
    assert "Báo cáo tổng mức bán lẻ hàng hóa" in page


def test_the_analyst_sees_each_regimes_latest_period_and_its_coverage(app, client, auth):
    sub = _send()
    decisions_svc.approve(user=user("pheduyet.hn"), submission_id=sub.id)
    auth.login("phantich.vpcp")
    body = client.get("/").get_data(as_text=True)
    assert 'data-testid="home-coverage"' in body and "Tháng 12/2026" in body and "đơn vị đã gửi" in body


def test_the_administrator_sees_accounts_and_mail_problems(app, client, auth):
    event = ReminderEvent(kind="reminder", regime_code="BCT-BANLE", period_key="2026-M12", agency_code="T01.SCT", step=0)
    db.session.add(event)
    db.session.flush()
    db.session.add(MailMessage(event_id=event.id, to_address="x@baocao.local", subject="s", body_text="b", body_html="b",
                               status="failed", created_at=datetime.now(UTC) - timedelta(days=1)))
    db.session.commit()
    auth.login("quantri")
    page = text(client.get("/"))
    assert "đang hoạt động" in page and "1 thư gửi không được trong 7 ngày qua" in page


def test_help_is_reachable_from_every_page_and_explains_the_rules_and_terms(app, client, auth):
    auth.login("canbo.sct")
    assert 'data-testid="nav-help"' in client.get("/reports").get_data(as_text=True)
    index = text(client.get("/help"))
    assert "Người lập báo cáo" in index and "vai trò của bạn" in index
    assert "Thời gian chốt số liệu" in text(client.get("/help/glossary")) and "Điều 12" in text(client.get("/help/glossary"))
    assert "cảnh báo" in text(client.get("/help/rules"))
    assert client.get("/help/khong-co").status_code == 404
    auth.login("thietke.bct")
    client.get("/designer/BCT-BANLE")
    editor = client.get("/designer/BCT-BANLE/forms/BIEU01").get_data(as_text=True)
    assert 'data-testid="rule-help"' in editor and "sum(B, C, D)" in editor  # the syntax beside the rule editor
