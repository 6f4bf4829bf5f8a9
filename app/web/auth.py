"""Log in / out and language choice."""
from urllib.parse import urlparse

from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app import audit
from app.extensions import db
from app.i18n import LOCALES
from app.services import sessions
from app.services import users as user_svc
from app.web.messages import flash

from . import bp
from .forms import EmptyForm, LoginForm


@bp.route("/")
@login_required
def home():
    from app.services.home import home_of

    return render_template("home.html", home=home_of(user=current_user))


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()  # reads a form body or a JSON one alike: the account is the one parsed here
    if request.method == "POST":
        username = (form.username.data or "").strip().lower()[:80]
        wait = sessions.throttled(username=username, address=request.remote_addr or "",
                                  per_account=current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
                                  per_address=current_app.config["LOGIN_LIMIT_PER_ADDRESS"])
        if wait is not None:
            flash(_("Quá nhiều lần đăng nhập không thành công. Vui lòng đợi vài phút rồi thử lại."), "danger")
            return render_template("login.html", form=form), 429, {"Retry-After": str(wait)}
    if form.validate_on_submit():
        user = user_svc.authenticate(username=form.username.data, password=form.password.data)
        if user is not None:
            login_user(sessions.start(user=user))
            audit.record("login", entity_id=str(user.id))
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")) or url_for("web.home"))
        audit.record("login_failed", entity_id=username[:60], changes={"username": username})
        db.session.commit()
        flash(_("Tên đăng nhập hoặc mật khẩu không đúng."), "danger")
    return render_template("login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    if EmptyForm().validate_on_submit():
        audit.record("logout", entity_id=str(current_user.id))
        sessions.end(user=current_user)
        db.session.commit()
        logout_user()
    return redirect(url_for("web.login"))


@bp.route("/lang/<code>")
def set_language(code):
    if code in LOCALES:
        session["locale"] = code
    return redirect(_safe_next(request.args.get("next")) or url_for("web.home"))


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths, so the login page cannot be used to redirect elsewhere."""
    if not target:
        return None
    parts = urlparse(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.app_context_processor
def _logout_form():
    return {"logout_form": EmptyForm() if current_user.is_authenticated else None}
