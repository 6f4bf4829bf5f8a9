"""Where a report stands and what may happen to it next.

    (none) ──save──▶ draft ──submit──▶ submitted ──approve──▶ approved
                       ▲                   │
                       └──save── returned ◀┘ return (with a reason)

Saving after a return starts a new version; a submitted version is frozen and sealed. After the
regime's lock date (deadline + lock_after_days) the reporter can no longer write unless an
approver reopens the report for them, with a reason; an approved report is reopened the same way.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum

from .deadlines import VN_TZ
from .errors import DomainError


class Status(str, Enum):
    NOT_STARTED = "not_started"
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"


STATUS_LABELS_VI = {
    Status.NOT_STARTED: "Chưa bắt đầu",
    Status.DRAFT: "Đang soạn",
    Status.SUBMITTED: "Đã gửi, chờ duyệt",
    Status.RETURNED: "Bị trả lại",
    Status.APPROVED: "Đã duyệt",
}


class NotAllowed(DomainError):
    pass


def lock_at(deadline: datetime, lock_after_days: int | None) -> datetime | None:
    return deadline + timedelta(days=lock_after_days) if lock_after_days is not None else None


def check_can_write(status: Status, *, now: datetime, lock: datetime | None, reopened: bool) -> None:
    if status is Status.SUBMITTED:
        raise NotAllowed("Báo cáo đã gửi và đang chờ duyệt; chỉ sửa được khi bị trả lại")
    if status is Status.APPROVED and not reopened:
        raise NotAllowed("Báo cáo đã được duyệt; cần người duyệt mở lại để sửa")
    if lock is not None and now > lock and not reopened:
        raise NotAllowed(f"Kỳ báo cáo đã khóa từ {lock.astimezone(VN_TZ).strftime('%d/%m/%Y')}; cần người duyệt mở lại để sửa")


def check_can_submit(status: Status, *, now: datetime, lock: datetime | None, reopened: bool) -> None:
    if status is Status.NOT_STARTED:
        raise NotAllowed("Chưa có bản nháp để gửi")
    if status is Status.RETURNED:
        raise NotAllowed("Báo cáo bị trả lại: hãy sửa và lưu (tạo phiên bản mới) rồi gửi lại")
    check_can_write(status, now=now, lock=lock, reopened=reopened)


def check_can_decide(status: Status) -> None:
    if status is not Status.SUBMITTED:
        raise NotAllowed(f"Chỉ duyệt hoặc trả lại báo cáo đang chờ duyệt (hiện: {STATUS_LABELS_VI[status]})")


def check_can_reopen(status: Status, *, now: datetime, lock: datetime | None) -> None:
    if status is Status.APPROVED:
        return
    if lock is None or now <= lock:
        raise NotAllowed("Kỳ báo cáo chưa khóa và báo cáo chưa được duyệt: không cần mở lại")
    if status is Status.SUBMITTED:
        raise NotAllowed("Báo cáo đang chờ duyệt: hãy trả lại thay vì mở lại")
