"""Display names for codes used in the catalogue and the agency map (translated)."""
from flask_babel import lazy_gettext as _l

from . import bp

LABELS = {
    "frequency": {
        "weekly": _l("Hằng tuần"), "monthly": _l("Hằng tháng"), "quarterly": _l("Hằng quý"),
        "semiannual": _l("6 tháng"), "nine_month": _l("9 tháng"), "annual": _l("Hằng năm"), "ad_hoc": _l("Đột xuất / một lần"),
    },
    "type": {"periodic": _l("Định kỳ"), "thematic": _l("Chuyên đề"), "ad_hoc": _l("Đột xuất")},
    "content_kind": {"text": _l("Chỉ phần lời"), "data": _l("Chỉ số liệu"), "both": _l("Phần lời và số liệu")},
    "sending": {
        "system": _l("Hệ thống thông tin báo cáo"), "edoc": _l("Hệ thống quản lý văn bản điều hành"),
        "email": _l("Thư điện tử"), "fax": _l("Fax"), "post": _l("Dịch vụ bưu chính"), "in_person": _l("Gửi trực tiếp"),
    },
    "cutoff": {
        "decree09": _l("Theo Điều 12 Nghị định 09/2019/NĐ-CP (từ ngày 15 tháng trước đến ngày 14)"),
        "calendar": _l("Theo lịch (từ ngày đầu đến ngày cuối kỳ)"),
        "custom_annual": _l("Khoảng năm tùy chỉnh"),
    },
    "level": {
        "central": _l("Trung ương"), "ministry": _l("Bộ, cơ quan ngang bộ"), "province": _l("Tỉnh, thành phố"),
        "department": _l("Sở, ban, ngành"), "district": _l("Cấp huyện (đến 30/6/2025)"), "commune": _l("Xã, phường, đặc khu"),
    },
    "aggregation": {
        "sum": _l("Cộng"), "average": _l("Bình quân"), "ratio": _l("Tỷ lệ (tính lại từ tử số và mẫu số)"),
        "min": _l("Nhỏ nhất"), "max": _l("Lớn nhất"), "latest": _l("Giá trị mới nhất"), "none": _l("Không tổng hợp"),
    },
    "value_type": {"number": _l("Số"), "integer": _l("Số nguyên"), "percent": _l("Phần trăm"), "text": _l("Văn bản")},
    "role": {
        "reporter": _l("Người lập báo cáo"), "approver": _l("Người phê duyệt"), "designer": _l("Người thiết kế chế độ báo cáo"),
        "analyst": _l("Chuyên viên tổng hợp (trung tâm báo cáo)"), "admin": _l("Quản trị hệ thống"),
    },
    "status": {
        "not_started": _l("Chưa bắt đầu"), "draft": _l("Đang soạn"), "submitted": _l("Đã gửi, chờ duyệt"),
        "returned": _l("Bị trả lại"), "approved": _l("Đã duyệt"),
    },
    "version_status": {
        "draft": _l("Bản nháp"), "replaced": _l("Bản nháp đã thay"), "submitted": _l("Đã gửi"),
        "returned": _l("Bị trả lại"), "approved": _l("Đã duyệt"),
    },
    "action": {
        "saved": _l("Lưu bản nháp"), "saved_api": _l("Lưu qua API"), "uploaded": _l("Tải lên tệp Excel"),
        "submitted": _l("Gửi báo cáo"), "approved": _l("Duyệt"), "returned": _l("Trả lại"), "reopened": _l("Mở lại"),
    },
    "source": {"web": _l("Biểu trên web"), "excel": _l("Tệp Excel"), "api": "API"},
    "column": {
        "current": _l("Kỳ báo cáo"), "previous": _l("Kỳ trước"), "same_period_last_year": _l("Cùng kỳ năm trước"),
        "cumulative": _l("Lũy kế từ đầu năm"), "pct_previous": _l("So với kỳ trước (%)"),
        "pct_same_period_last_year": _l("So với cùng kỳ (%)"), "plan": _l("Kế hoạch năm"), "pct_plan": _l("So với kế hoạch (%)"),
    },
    "entity": {
        "agencies": _l("Cơ quan, đơn vị"), "agency_certificates": _l("Chứng thư số"), "agency_keys": _l("Khóa niêm phong"),
        "agency_lineage": _l("Kế thừa đơn vị (sắp xếp 2025)"), "agency_parents": _l("Quan hệ cấp trên"),
        "api_tokens": _l("Mã truy cập API"), "disaggregations": _l("Phân tổ"), "indicators": _l("Chỉ tiêu"),
        "pending_signatures": _l("Yêu cầu ký đang chờ"), "regime_drafts": _l("Bản nháp chế độ báo cáo"),
        "regime_indicators": _l("Chỉ tiêu của chế độ"), "regime_versions": _l("Phiên bản chế độ báo cáo"),
        "regimes": _l("Chế độ báo cáo"), "report_requests": _l("Yêu cầu báo cáo đột xuất"),
        "request_targets": _l("Đơn vị được yêu cầu"), "signed_documents": _l("Báo cáo đã ký số"),
        "submission_events": _l("Diễn biến báo cáo"), "submission_versions": _l("Phiên bản báo cáo"),
        "submissions": _l("Báo cáo"), "users": _l("Tài khoản"), "follow_ups": _l("Số liệu cần theo dõi"),
        "follow_up_comments": _l("Trao đổi về số liệu cần theo dõi"), "jobs": _l("Việc chạy nền"), "kpi_picks": _l("Chỉ tiêu theo dõi (KPI)"),
    },
    "deadline_rule": {
        "day_of_month": _l("Ngày cố định trong tháng sau kỳ"), "days_after": _l("Số ngày sau khi chốt số liệu"),
        "working_days_after": _l("Số ngày làm việc sau khi chốt số liệu"), "fixed_date": _l("Ngày cố định trong năm"),
    },
    "mail_status": {"pending": _l("Chờ gửi"), "sending": _l("Đang gửi"), "sent": _l("Đã gửi"), "failed": _l("Gửi không được")},
    "notice_kind": {
        "reminder": _l("Nhắc hạn"), "digest": _l("Thư tổng hợp"), "returned": _l("Báo cáo bị trả lại"),
        "approved": _l("Báo cáo được duyệt"), "reopened": _l("Báo cáo được mở lại"), "request": _l("Yêu cầu báo cáo"),
        "cert-expiry": _l("Chứng thư số sắp hết hạn"), "check-value": _l("Đề nghị kiểm tra số liệu"),
    },
    "job_status": {"queued": _l("Đang chờ"), "running": _l("Đang chạy"), "done": _l("Xong"), "failed": _l("Lỗi, đã dừng")},
    "job_kind": {"pdf": _l("Lập báo cáo PDF"), "probe": _l("Kiểm tra worker"), "quality": _l("Kiểm tra chất lượng số liệu"),
                 "import": _l("Nhập tệp SDMX/DHIS2"), "rebuild": _l("Tổng hợp lại số liệu"), "upload": _l("Nhận tệp Excel báo cáo"),
                 "catalogue_zip": _l("Nhập chế độ báo cáo (zip)"), "export": _l("Xuất dữ liệu SDMX/DHIS2"),
                 "mail": _l("Gửi thư điện tử")},
    "follow_up_status": {"open": _l("Đang theo dõi"), "asked": _l("Đã đề nghị kiểm tra"), "closed": _l("Đã xong")},
    "quality_basis": {
        "seasonal": _l("so với chính đơn vị, cùng kỳ các năm"), "recent": _l("so với các kỳ gần đây của đơn vị"),
        "peers": _l("so với các đơn vị cùng cấp"),
    },
    "audit_action": {
        "insert": _l("Thêm"), "update": _l("Sửa"), "delete": _l("Xóa"), "login": _l("Đăng nhập"),
        "login_failed": _l("Đăng nhập sai"), "logout": _l("Đăng xuất"),
    },
    "field": {
        "name": _l("Tên"), "full_name": _l("Họ và tên"), "username": _l("Tên đăng nhập"), "email": _l("Thư điện tử"),
        "role": _l("Vai trò"), "agency_id": _l("Cơ quan (số hiệu)"), "active": _l("Hoạt động"), "locale": _l("Ngôn ngữ"),
        "status": _l("Trạng thái"), "number": _l("Phiên bản số"), "code": _l("Mã"), "name_vi": _l("Tên"),
        "name_en": _l("Tên tiếng Anh"), "period_key": _l("Kỳ"), "regime_id": _l("Chế độ (số hiệu)"),
        "submission_id": _l("Báo cáo (số hiệu)"), "version_number": _l("Phiên bản số"), "action": _l("Thao tác"),
        "detail": _l("Chi tiết"), "reason": _l("Lý do"), "decision_reason": _l("Lý do quyết định"),
        "submitted_at": _l("Gửi lúc"), "decided_at": _l("Quyết định lúc"), "saved_at": _l("Lưu lúc"),
        "created_at": _l("Tạo lúc"), "at": _l("Lúc"), "valid_from": _l("Hiệu lực từ"), "valid_to": _l("Hiệu lực đến"),
        "title": _l("Tên"), "deadline_at": _l("Hạn gửi"), "lock_at": _l("Khóa sổ lúc"), "reopened_at": _l("Mở lại lúc"),
        "reopen_reason": _l("Lý do mở lại"), "approved_version": _l("Phiên bản được duyệt"), "subject": _l("Chủ thể chứng thư"),
        "serial": _l("Số hiệu chứng thư"), "issuer": _l("Tổ chức cấp"), "not_before": _l("Hiệu lực từ"),
        "not_after": _l("Hiệu lực đến"), "retired_at": _l("Thôi dùng lúc"), "user_id": _l("Tài khoản (số hiệu)"),
        "mail_notices": _l("Nhận thông báo qua thư"), "version": _l("Phiên bản"), "published_at": _l("Công bố lúc"),
        "password_hash": _l("Mật khẩu"), "revoked_at": _l("Thu hồi lúc"), "unit": _l("Đơn vị tính"),
        "level": _l("Mức ký"), "mode": _l("Cách ký"), "on_time": _l("Đúng hạn"), "seal_hash": _l("Mã niêm phong"),
        "content_hash": _l("Mã nội dung"), "kind": _l("Loại"), "value": _l("Giá trị"), "expected": _l("Giá trị dự kiến"),
        "owner_id": _l("Người theo dõi (số hiệu)"), "follow_up_id": _l("Số liệu cần theo dõi (số hiệu)"),
        "author_id": _l("Người viết (số hiệu)"), "text": _l("Nội dung"), "position": _l("Thứ tự"), "indicator": _l("Chỉ tiêu"),
        "dkey": _l("Phân tổ"),
    },
}


def label(group: str, code) -> str:
    return str(LABELS.get(group, {}).get(code, code))


def receiver_label(receiver: str, names: dict) -> str:
    if receiver == "parent":
        return str(_l("Cơ quan cấp trên trực tiếp"))
    if receiver == "province":
        return str(_l("Ủy ban nhân dân tỉnh, thành phố"))
    if receiver.startswith("department:"):
        return str(_l("Cơ quan chuyên môn cấp tỉnh: %(kind)s", kind=receiver.split(":", 1)[1]))
    return names.get(receiver, receiver)


def audit_changes(raw: str, action: str) -> list[tuple[str, bool, str, str | None]]:
    """An audit entry's changes as people read them: (field label, whether the label is a raw
    column name, the value — or the old value of an update —, the new value of an update)."""
    import json
    from datetime import datetime

    from app.i18n import vn_date

    try:
        changes = json.loads(raw or "{}")
    except ValueError:
        return [("", True, (raw or "")[:300], None)]

    def shown(key, value) -> str:
        if value is None or value == "":
            return "—"
        if isinstance(value, bool):
            return str(_l("có") if value else _l("không"))
        if key == "status":
            return label("status", value)
        if key == "action":
            return label("action", value)
        if key == "period_key":
            from app.i18n import vn_period

            return vn_period(value)
        if key == "role":
            return label("role", value)
        if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
            try:
                return vn_date(datetime.fromisoformat(value))
            except ValueError:
                pass
        if isinstance(value, (dict, list)):
            return json.dumps(value, ensure_ascii=False)[:200]
        return str(value)[:200]

    out = []
    for key, value in list(changes.items())[:12]:
        known = key in LABELS["field"]
        name = label("field", key)
        if action == "update" and isinstance(value, list) and len(value) == 2:
            out.append((name, not known, shown(key, value[0]), shown(key, value[1])))
        else:
            out.append((name, not known, shown(key, value), None))
    if len(changes) > 12:
        out.append((str(_l("và %(n)s trường khác", n=len(changes) - 12)), False, "", None))
    return out


@bp.app_context_processor
def _labels():
    return {"label": label, "receiver_label": receiver_label, "audit_changes": audit_changes}
