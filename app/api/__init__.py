"""REST API under /api/v1 (flask-smorest + marshmallow), described at /api/v1/openapi.json."""
from __future__ import annotations

from flask import Flask
from flask_login import current_user
from flask_smorest import Api

from app.extensions import csrf


class BaocaoApi(Api):
    """Errors are rendered by app.errors for the whole app, in one format."""

    def _register_error_handlers(self):
        pass


api = BaocaoApi()


def init_api(app: Flask) -> None:
    from . import agencies, indicators, regimes

    api.init_app(app, spec_kwargs={
        "info": {"description": "baocao — báo cáo định kỳ theo Nghị định 09/2019/NĐ-CP. "
                 "Authenticate with a session cookie or `Authorization: Bearer <token>` (flask users token)."},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    })
    for module in (regimes, indicators, agencies):
        csrf.exempt(module.blp)  # token-authenticated; session writes come later with their own checks
        module.blp.before_request(_require_login)
        api.register_blueprint(module.blp, url_prefix=f"/api/v1/{module.blp.name}")


def _require_login():
    if not current_user.is_authenticated:
        from flask import abort

        abort(401)
