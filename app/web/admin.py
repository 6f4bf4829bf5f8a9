"""Administration: accounts within the administrator's agency and the agencies below it."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth import role_required
from app.models import ROLE_LABELS_VI, Role
from app.services import audit as audit_svc
from app.services import users as svc
from app.services.errors import Invalid
from app.web.messages import flash

from . import bp
from .forms import EmptyForm, UserForm
from .paging import paginate


@bp.route("/admin/users", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def admin_users():
    form = UserForm()
    form.role.choices = [(r.value, ROLE_LABELS_VI[r]) for r in Role]
    if form.validate_on_submit():
        try:
            user = svc.create_user(username=form.username.data, password=form.password.data,
                                   full_name=form.full_name.data, role=form.role.data,
                                   agency_code=form.agency.data.strip(), email=form.email.data, actor=current_user)
            flash(_("Đã tạo tài khoản %(name)s thuộc %(agency)s (%(code)s).", name=user.username, agency=user.agency.name,
                    code=user.agency.code), "success")
            return redirect(url_for("web.admin_users"))
        except Invalid as exc:
            for p in exc.problems:
                getattr(form, p.where or "username").errors.append(p.message)
    page = paginate(svc.users_in_scope(actor=current_user))
    return render_template("admin/users.html", form=form, page=page, roles=ROLE_LABELS_VI, toggle=EmptyForm())


@bp.route("/admin/users/<int:user_id>/active/<int:active>", methods=["POST"])
@role_required(Role.ADMIN)
def admin_user_active(user_id, active):
    if EmptyForm().validate_on_submit():
        user = svc.set_active(actor=current_user, user_id=user_id, active=bool(active))
        flash(_("Đã cập nhật tài khoản %(name)s.", name=user.username), "success")
    return redirect(url_for("web.admin_users"))


@bp.route("/admin/audit")
@role_required(Role.ADMIN)
def admin_audit():
    """Who changed what, when, from where (filters: account, table, action, days)."""
    args = request.args
    day_from, day_to = _day(args.get("from")), _day(args.get("to"))
    stmt = audit_svc.entries_in_scope(actor=current_user, who=args.get("who", ""), entity=args.get("entity", ""),
                                      action=args.get("action", ""), day_from=day_from, day_to=day_to,
                                      tz=ZoneInfo(current_app.config["TIMEZONE"]))
    return render_template("admin/audit.html", page=paginate(stmt), args=args, entities=audit_svc.entities(),
                           actions=AUDIT_ACTIONS)


AUDIT_ACTIONS = ("insert", "update", "delete", "login", "login_failed", "logout")


def _day(text: str | None):
    """dd/mm/yyyy or yyyy-mm-dd (the date input); anything else is ignored."""
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime((text or "").strip(), fmt).date()
        except ValueError:
            continue
    return None


@bp.route("/admin/jobs", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def admin_jobs():
    """Background jobs: queued, running, done, failed — with the reason; a failed one can be sent round again."""
    from app.services import jobs

    if request.method == "POST":
        if EmptyForm().validate_on_submit():
            job_id = request.form.get("job", "")
            if job_id.isdigit():
                job = jobs.retry(job_id=int(job_id))
                flash(_("Đã đưa việc %(n)s vào hàng chờ làm lại.", n=job.id), "success")
        return redirect(url_for("web.admin_jobs", status=request.args.get("status", "")))
    status = request.args.get("status", "")
    status = status if status in ("queued", "running", "done", "failed") else ""
    return render_template("admin/jobs.html", items=jobs.listing(status=status), status=status, action=EmptyForm())
