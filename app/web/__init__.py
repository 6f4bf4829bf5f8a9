"""Server-rendered pages (Jinja + Flask-WTF). Views parse, call a service, translate errors, respond."""
from flask import Blueprint

bp = Blueprint("web", __name__, template_folder="templates")


def register_web(app) -> None:
    from . import (  # noqa: F401 — routes register on bp
        admin,
        agencies,
        auth,
        catalogue,
        center,
        center_quality,
        chain,
        designer,
        designer_import,
        help,
        labels,
        notifications,
        profile,
        reports,
        signing,
    )

    app.register_blueprint(bp)
