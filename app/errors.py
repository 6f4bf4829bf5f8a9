"""One place that turns every error into a page a person can read or JSON a program can parse.

API errors: {"error": {"code": ..., "message": ..., "details": [...]}}, never HTML, never a trace.
"""
from __future__ import annotations

import logging

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from .domain.errors import DomainError, Problem
from .services.errors import Busy, Conflict, Forbidden, Invalid, NotFound

log = logging.getLogger(__name__)

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 413: "too_large", 422: "invalid", 429: "too_many_requests", 500: "server_error",
         503: "unavailable"}


def _messages() -> dict[int, str]:
    return {
        400: _("Yêu cầu không hợp lệ."),
        401: _("Cần đăng nhập hoặc mã truy cập (Bearer token) hợp lệ."),
        403: _("Bạn không có quyền thực hiện thao tác này."),
        404: _("Không tìm thấy trang hoặc dữ liệu yêu cầu."),
        405: _("Phương thức không được hỗ trợ."),
        413: _("Tệp tải lên quá lớn."),
        429: _("Quá nhiều lần đăng nhập không thành công. Vui lòng đợi vài phút rồi thử lại."),
        500: _("Hệ thống gặp lỗi ngoài dự kiến. Vui lòng thử lại; nếu lỗi lặp lại, hãy báo quản trị viên."),
        503: _("Hệ thống tạm thời không kết nối được cơ sở dữ liệu. Vui lòng thử lại sau ít phút."),
    }


def problem_details(problems: list[Problem]) -> list[dict]:
    return [{k: v for k, v in {"message": p.message, "file": p.file, "line": p.line, "field": p.where}.items()
             if v is not None} for p in problems]


def respond(status: int, message: str | None = None, details: list | None = None, headers=None):
    message = message or _messages().get(status, _("Có lỗi xảy ra."))
    if request.path.startswith("/api/"):
        body = {"error": {"code": CODES.get(status, "error"), "message": message, "details": details or []}}
        return jsonify(body), status, headers or {}
    return render_template("error.html", status=status, message=message, details=details or []), status, headers or {}


def init_app(app) -> None:
    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        headers = {}
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        if error.code == 429:
            headers["Retry-After"] = "60"
        details = []
        data = getattr(error, "data", None) or {}
        if "messages" in data:  # webargs / marshmallow validation from flask-smorest
            details = _flatten(data["messages"])
        if error.code == 401 and not request.path.startswith("/api/"):
            from .extensions import login_manager

            return login_manager.unauthorized()
        message = _("Dữ liệu gửi lên không hợp lệ.") if details else None
        return respond(error.code or 500, message, details, headers)

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        return respond(400, _("Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ (CSRF). Vui lòng tải lại trang và thử lại."))

    @app.errorhandler(NotFound)
    def _not_found(error: NotFound):
        return respond(404, str(error))

    @app.errorhandler(Forbidden)
    def _forbidden(error: Forbidden):
        return respond(403, str(error))

    @app.errorhandler(Invalid)
    def _invalid(error: Invalid):
        return respond(422, str(error), error.details if error.details is not None else problem_details(error.problems))

    @app.errorhandler(Conflict)
    def _conflict(error: Conflict):
        return respond(409, str(error))

    @app.errorhandler(Busy)
    def _busy(error: Busy):
        return respond(503, str(error), headers={"Retry-After": "60"})

    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        return respond(422, str(error))

    @app.errorhandler(OperationalError)
    def _db_down(error: OperationalError):
        """The database is unreachable: a "try again" page (503, Retry-After) that needs no database —
        the page is rendered as for a visitor, since loading the account would ask the database again."""
        from flask import g

        from .extensions import db, login_manager

        log.warning("database unavailable on %s %s: %s", request.method, request.path, str(error.orig).splitlines()[0])
        g._login_user = login_manager.anonymous_user()
        try:
            db.session.rollback()
        except OperationalError:
            pass
        return respond(503, headers={"Retry-After": "10"})

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return _http(error)
        log.exception("unexpected error on %s %s", request.method, request.path)
        from .extensions import db

        try:  # the failed transaction must not break the error page itself (it asks for the bell count)
            db.session.rollback()
        except Exception:  # noqa: BLE001 — whatever state the connection is in, the page must render
            log.warning("rollback after an unexpected error failed", exc_info=True)
        return respond(500)


def _flatten(messages, prefix: str = "") -> list[dict]:
    out = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = key if not prefix else f"{prefix}.{key}"
            if key in ("query", "json", "form", "files", "view_args", "path"):
                name = prefix
            out += _flatten(value, name)
    elif isinstance(messages, list):
        for m in messages:
            out += _flatten(m, prefix) if isinstance(m, (dict, list)) else [{"field": prefix, "message": str(m)}]
    else:
        out.append({"field": prefix, "message": str(messages)})
    return out

