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


@bp.app_context_processor
def _labels():
    return {"label": label, "receiver_label": receiver_label}
