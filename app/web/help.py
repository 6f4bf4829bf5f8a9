"""Help in Vietnamese, reachable from every page: a guide per role, the syntax of validation rules
(also shown beside the designer's rule editor), and a glossary of the Decree-09 terms."""
from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user, login_required

from . import bp

TOPICS = {
    "reporter": "Người lập báo cáo", "approver": "Người phê duyệt", "designer": "Người thiết kế chế độ báo cáo",
    "analyst": "Chuyên viên tổng hợp", "admin": "Quản trị hệ thống", "rules": "Cú pháp quy tắc kiểm tra",
    "glossary": "Thuật ngữ theo Nghị định 09/2019/NĐ-CP",
}


@bp.route("/help")
@login_required
def help():
    return render_template("help/index.html", topics=TOPICS, mine=current_user.role)


@bp.route("/help/<topic>")
@login_required
def help_topic(topic):
    if topic not in TOPICS:
        abort(404)
    return render_template(f"help/{topic}.html", topics=TOPICS, topic=topic, title=TOPICS[topic])
