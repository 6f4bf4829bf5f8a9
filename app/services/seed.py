"""Demo data: one account per role, with documented passwords (README, docs/operations.md)."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import User

from .users import create_user

DEMO_PASSWORD = "baocao-demo-2026"
DEMO_USERS = [
    # username, full name, role, agency
    ("canbo.sct", "Nguyễn Thị Lan", "reporter", "T01.SCT"),
    ("pheduyet.hn", "Trần Văn Minh", "approver", "T01"),
    ("pheduyet.bct", "Đỗ Thị Thanh", "approver", "BCT"),  # receives the provinces' compiled reports
    ("thietke.bct", "Lê Thu Hà", "designer", "BCT"),
    ("phantich.vpcp", "Phạm Quốc Huy", "analyst", "VPCP"),
    ("quantri", "Hoàng Đức Anh", "admin", "CP"),
]


def seed_demo() -> list[str]:
    """Create the demo accounts that do not exist yet; returns the usernames created."""
    created = []
    for username, full_name, role, agency in DEMO_USERS:
        if db.session.scalar(select(User.id).where(User.username == username)):
            continue
        create_user(username=username, password=DEMO_PASSWORD, full_name=full_name, role=role,
                    agency_code=agency, email=f"{username}@baocao.local", commit=False)
        created.append(username)
    db.session.commit()
    return created


def demo_story(*, now=None) -> list[str]:
    """What a reporter meets on the demo's first morning, through the same services as in real use
    (so the bell, the mail sink and the home pages have something to show): Hà Nội returns Sở Công
    Thương's latest monthly report with a reason, and Bộ Công Thương asks it for an ad hoc report.
    Idempotent: a step already done is left alone. Returns what was done."""
    from datetime import timedelta

    from app.domain.periods import Period
    from app.models import ReportRequest, Submission, SubmissionEvent
    from app.models.base import utcnow

    from . import decisions, requests, sending, submissions
    from .history import demo_values
    from .listings import my_reports

    def demo_user(username):
        return db.session.scalar(select(User).where(User.username == username))

    now = now or utcnow()
    reporter, approver, designer = demo_user("canbo.sct"), demo_user("pheduyet.hn"), demo_user("thietke.bct")
    done = []
    if reporter is None or approver is None:
        return done
    told = db.session.scalar(select(SubmissionEvent.id).join(Submission, Submission.id == SubmissionEvent.submission_id)
                             .where(Submission.agency_id == reporter.agency_id, SubmissionEvent.action == "returned").limit(1))
    owed = [r for r in my_reports(user=reporter, now=now) if r.regime_code == "BCT-BANLE" and r.submission_id is None
            and now - timedelta(days=45) <= r.deadline_at <= now + timedelta(days=30)]
    if owed and told is None:
        row = max(owed, key=lambda r: r.deadline_at)
        report = submissions.open_report(user=reporter, regime_code="BCT-BANLE", agency_code="T01.SCT", period_key=row.period_key,
                                         for_write=True)
        values = demo_values(report.layout, "T01.SCT", row.period_key)
        saved = submissions.save(user=reporter, report=report, raw={k: (str(v), False, "") for k, v in values.items()},
                                 outline={"I": "Sức mua tăng nhẹ; các chợ truyền thống ổn định."}, revision=None, now=now)
        sending.submit(user=reporter, submission_id=saved.submission.id, now=now)
        decisions.return_(user=approver, submission_id=saved.submission.id, now=now,
                          reason="Đề nghị bổ sung doanh thu dịch vụ lưu trú của các khách sạn mới khai trương")
        done.append(f"trả lại báo cáo {Period.parse(row.period_key).label_vi} của Sở Công Thương Hà Nội")
    if designer is not None and not db.session.scalar(select(ReportRequest.id).where(ReportRequest.title.like("Báo cáo nhanh%Tết%"))):
        today = now.date()
        requests.issue_request(user=designer, regime_code="BCT-BANLE", title="Báo cáo nhanh thị trường hàng hóa dịp Tết",
                               content="Số liệu bán lẻ 20 ngày trước Tết, để Bộ tổng hợp báo cáo Chính phủ.",
                               agency_codes=["T01.SCT", "T79.SCT"], deadline=now + timedelta(days=10),
                               data_from=today - timedelta(days=20), data_to=today, kind="ad_hoc")
        done.append("yêu cầu báo cáo đột xuất dịp Tết")
    return done
