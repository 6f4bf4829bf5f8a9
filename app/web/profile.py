"""The user's own page: who they are, and their API tokens (issued here, shown once, revocable)."""
from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app import audit
from app.extensions import db
from app.services import sessions
from app.services import users as svc
from app.services.errors import Invalid
from app.web.messages import flash

from . import bp
from .forms import EmptyForm, PasswordForm, TokenForm


@bp.route("/profile")
@login_required
def profile():
    return render_template("profile.html", tokens=svc.tokens_of(user=current_user), form=TokenForm(), action=EmptyForm(),
                           new_token=None, password=PasswordForm(formdata=None))


@bp.route("/profile/password", methods=["POST"])
@login_required
def profile_password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            svc.change_password(user=current_user, current=form.current.data, new=form.new.data)
            sessions.end_all(user=current_user)  # a copied cookie of any sign-in stops working
            login_user(sessions.start(user=current_user))  # this one goes on, as a new sign-in
            db.session.commit()
            flash(_("Đã đổi mật khẩu. Các phiên đăng nhập khác đã kết thúc."), "success")
            return redirect(url_for("web.profile"))
        except Invalid as exc:
            for p in exc.problems:
                getattr(form, p.where).errors.append(p.message)
    return render_template("profile.html", tokens=svc.tokens_of(user=current_user), form=TokenForm(formdata=None),
                           action=EmptyForm(), new_token=None, password=form), 422


@bp.route("/profile/logout-everywhere", methods=["POST"])
@login_required
def profile_logout_everywhere():
    if EmptyForm().validate_on_submit():
        n = sessions.end_all(user=current_user)
        audit.record("logout", entity_id=str(current_user.id), changes={"everywhere": n})
        db.session.commit()
        logout_user()
        flash(_("Đã đăng xuất khỏi mọi nơi (%(n)s phiên).", n=n), "success")
        return redirect(url_for("web.login"))
    return redirect(url_for("web.profile"))


@bp.route("/profile/tokens", methods=["POST"])
@login_required
def profile_token():
    form = TokenForm()
    if not form.validate_on_submit():
        flash("; ".join(str(m) for ms in form.errors.values() for m in ms), "danger")
        return redirect(url_for("web.profile"))
    token = svc.issue_token(user=current_user, name=form.name.data.strip())
    return render_template("profile.html", tokens=svc.tokens_of(user=current_user), form=TokenForm(formdata=None),
                           action=EmptyForm(), new_token=token, password=PasswordForm(formdata=None))


@bp.route("/profile/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def profile_token_revoke(token_id):
    if EmptyForm().validate_on_submit():
        svc.revoke_token(user=current_user, token_id=token_id)
        flash(_("Đã thu hồi mã truy cập."), "success")
    return redirect(url_for("web.profile"))


@bp.route("/profile/notices", methods=["POST"])
@login_required
def profile_notices():
    """Whether notices (a report returned, approved, reopened; a request; a certificate expiring)
    also come by e-mail; they always appear under the bell."""
    from flask import request

    if EmptyForm().validate_on_submit():
        current_user.mail_notices = request.form.get("mail") == "1"
        db.session.commit()
        flash(_("Đã lưu: thông báo sẽ gửi cả qua thư điện tử.") if current_user.mail_notices
              else _("Đã lưu: thông báo chỉ hiện trong hệ thống, không gửi thư."), "success")
    return redirect(url_for("web.profile"))
