"""REST API under /api/v1 (flask-smorest + marshmallow), described at /api/v1/openapi.json."""
from __future__ import annotations

from flask import Flask, abort
from flask_login import current_user
from flask_smorest import Api

from app.extensions import csrf

from .schemas import ApiErrorSchema


class BaocaoApi(Api):
    """Errors are rendered by app.errors for the whole app, in one format — the one documented."""

    ERROR_SCHEMA = ApiErrorSchema  # the documented error responses (flask-smorest's class attribute)

    def _register_error_handlers(self):
        pass


def init_api(app: Flask) -> None:
    from . import agencies, center, chain, indicators, jobs, quality, regimes, signatures, submissions

    api = BaocaoApi()  # one per app: flask-smorest keeps a reference to the app it serves
    api.init_app(app, spec_kwargs={
        "info": {"description": "baocao — báo cáo định kỳ theo Nghị định 09/2019/NĐ-CP. "
                 "Authenticate with a session cookie or `Authorization: Bearer <token>` (flask users token)."},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    })
    for module in (regimes, indicators, agencies, submissions, chain, signatures, jobs):
        csrf.exempt(module.blp)  # bearer tokens need no CSRF; submissions checks it for cookie sessions itself
        api.register_blueprint(module.blp, url_prefix=f"/api/v1/{module.blp.name}")
    csrf.exempt(center.blp)  # its imports check CSRF for cookie sessions themselves (csrf_for_cookie_sessions)
    api.register_blueprint(center.blp, url_prefix="/api/v1")
    csrf.exempt(quality.blp)  # writes check CSRF for cookie sessions themselves (csrf_for_cookie_sessions)
    api.register_blueprint(quality.blp, url_prefix="/api/v1")
    app.before_request(_parse_json_once)


def _parse_json_once() -> None:
    """A JSON body is parsed first by the app's bounded parser (app.BoundedJSON): a body nested
    thousands deep is a 400 here; webargs, which parses again, then only sees bodies that parse."""
    import json

    from flask import request

    if request.path.startswith("/api/") and request.is_json and request.method in ("POST", "PUT", "PATCH"):
        try:
            json.loads(request.get_data(cache=True))
        except RecursionError:
            from app.errors import respond

            return respond(400, "Dữ liệu JSON lồng quá sâu")
        except ValueError:
            pass  # not JSON at all: the endpoint says what is wrong with it (422, with the reason)
    return None


def csrf_for_cookie_sessions() -> None:
    """before_request of blueprints that write: bearer-token clients need no CSRF token; a browser
    session writing through the API does."""
    from flask import request

    if request.method in ("POST", "PUT", "PATCH", "DELETE") and not request.headers.get("Authorization", "").startswith("Bearer "):
        csrf.protect()


def require_login() -> None:
    """before_request of every API blueprint: a session or a bearer token is needed."""
    if not current_user.is_authenticated:
        abort(401)
