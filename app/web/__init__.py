"""Server-rendered pages (Jinja + Flask-WTF). Views parse, call a service, translate errors, respond."""
from flask import Blueprint

bp = Blueprint("web", __name__, template_folder="templates")


def register_web(app) -> None:
    from . import admin, agencies, auth, catalogue, center, chain, designer, labels, notifications, profile, reports  # noqa: F401 — routes register on bp

    app.register_blueprint(bp)
