"""Flask-Login wiring: session users for the web, bearer tokens for the API."""
from __future__ import annotations

from functools import wraps

from flask import abort, g
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .extensions import login_manager
from .models import Role, User


def init_app(app) -> None:
    login_manager.login_view = "web.login"
    login_manager.login_message = _l("Vui lòng đăng nhập để tiếp tục.")
    login_manager.login_message_category = "warning"

    @app.teardown_request
    def _forget_user(_exc=None):
        # Flask-Login caches the user on `g`; where an app context outlives a request (tests, CLI
        # scripts driving the test client) the next request must authenticate afresh.
        g.pop("_login_user", None)


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The user of a live server-side sign-in ("<id>:<token>", app/services/sessions.py)."""
    from .services import sessions

    return sessions.load(session_id)


@login_manager.request_loader
def load_user_from_token(req) -> User | None:
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    from .services.users import user_for_token

    return user_for_token(header[len("Bearer "):].strip())


def role_required(*roles: Role):
    """Refuse (403) a logged-in user without one of these roles."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator

