"""The bell (unread notifications), the user's notification list, and the administrators'
reminder log with a dry run ("what would be sent at time T")."""
from __future__ import annotations

from datetime import datetime

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth import role_required
from app.domain.deadlines import VN_TZ
from app.models import Role
from app.services import reminders as svc
from app.web.messages import flash

from . import bp
from .forms import EmptyForm
from .paging import paginate


@bp.app_context_processor
def _bell():
    if getattr(current_user, "is_authenticated", False):
        return {"unread_notifications": svc.unread_count(user=current_user)}
    return {"unread_notifications": 0}


@bp.route("/notifications")
@login_required
def notifications():
    return render_template("notifications.html", page=paginate(svc.notifications_of(user=current_user)), action=EmptyForm())


@bp.route("/notifications/read", methods=["POST"])
@login_required
def notifications_read():
    if EmptyForm().validate_on_submit():
        svc.mark_read(user=current_user)
    return redirect(url_for("web.notifications"))


@bp.route("/admin/reminders", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def admin_reminders():
    args = {k: request.args.get(k, "").strip()[:40] for k in ("kind", "regime", "period", "status", "agency")}
    planned, at = None, None
    if request.method == "POST":
        if not EmptyForm().validate_on_submit():
            flash(_("Phiên làm việc đã hết hạn (CSRF). Hãy tải lại trang."), "danger")
            return redirect(url_for("web.admin_reminders"))
        try:
            at = datetime.fromisoformat(request.form.get("at", ""))
        except ValueError:
            flash(_("Thời điểm không hợp lệ (dd/mm/yyyy hh:mm)."), "danger")
            return redirect(url_for("web.admin_reminders"))
        at = at if at.tzinfo else at.replace(tzinfo=VN_TZ)
        planned = svc.planned_in_scope(actor=current_user, now=at)
    page = paginate(svc.log(actor=current_user, **args))
    return render_template("admin/reminders.html", page=page, args=args, planned=planned, at=at, action=EmptyForm())


@bp.route("/admin/mail")
@role_required(Role.ADMIN)
def admin_mail():
    """The demo's mailbox: what the scheduler sent over SMTP to the local sink (flask mail sink)."""
    from pathlib import Path

    from flask import abort, current_app

    from app.adapters import mailsink

    folder = current_app.config.get("MAIL_SINK_DIR")
    if not folder:
        abort(404)
    return render_template("admin/mail.html", messages=mailsink.kept(Path(folder)))
