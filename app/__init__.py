"""baocao — periodic government reporting under Decree 09/2019/NĐ-CP."""
from __future__ import annotations

import os

os.environ.setdefault("OPENPYXL_LXML", "False")  # openpyxl through defusedxml even though lxml is installed (shared/stack.md)

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

from .config import load_config


class BoundedInt(IntegerConverter):
    """`<int:…>` in routes, capped at the largest INTEGER (ids are 32-bit on PostgreSQL)."""

    def __init__(self, map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):  # noqa: A002 — werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class BoundedJSON(DefaultJSONProvider):
    """Request bodies parsed as JSON: a body of thousands of nested brackets gets a 400 (Flask turns
    the ValueError into one), never a RecursionError and a 500."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON lồng quá sâu") from None


class BaocaoFlask(Flask):
    json_provider_class = BoundedJSON


def create_app(test_config: dict | None = None) -> Flask:
    """The application factory: config → extensions → blueprints → error handlers → CLI."""
    app = BaocaoFlask(__name__, instance_relative_config=False)
    app.url_map.converters["int"] = BoundedInt  # ids beyond a database integer are simply not found (not a 500)
    app.config.from_mapping(load_config())
    if test_config:
        app.config.update(test_config)

    from . import audit, auth, cli, errors, health, i18n, observability
    from .api import init_api
    from .extensions import babel, bootstrap, csrf, db, limiter, login_manager, migrate
    from .web import register_web

    observability.configure(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    bootstrap.init_app(app)
    auth.init_app(app)
    audit.init_app(app)
    from .services import import_jobs, jobs, mail_delivery, upload_jobs  # noqa: F401 — they register the import, rebuild, mail and upload job kinds

    jobs.init_app(app)
    i18n.init_app(app)
    register_web(app)
    init_api(app)
    errors.init_app(app)
    health.init_app(app)
    cli.init_app(app)
    if app.config.get("PROXY_HOPS"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    return app
