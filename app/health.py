"""Operations: a health endpoint for load balancers and monitors, and security headers."""
from __future__ import annotations

from flask import Flask, abort, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .extensions import csrf, db

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # everything from this server (no CDN); no inline or injected script — page behaviour lives in static/*.js;
    # inline style attributes stay allowed (progress bars); no framing, no plugins, no foreign base
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                                "img-src 'self' data:; frame-ancestors 'none'; object-src 'none'; "
                                "base-uri 'self'; form-action 'self'"),
}


def init_app(app: Flask) -> None:
    @app.get("/healthz")
    @csrf.exempt
    def healthz():
        """200 {"status": "ok", "database": "ok"} when the database answers; 503 otherwise."""
        try:
            db.session.execute(text("SELECT 1"))
            return jsonify({"status": "ok", "database": "ok"})
        except SQLAlchemyError:
            db.session.rollback()
            return jsonify({"status": "unavailable", "database": "unreachable"}), 503

    @app.before_request
    def _no_nul_characters():
        """PostgreSQL text cannot hold NUL; no legitimate input carries one. Refuse it up front (400)."""
        if "\x00" in request.path or any("\x00" in v for v in request.args.values()) or (
                request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")
                and any("\x00" in v for v in request.form.values())):
            abort(400)

    @app.after_request
    def _headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
