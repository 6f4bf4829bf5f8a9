"""Logs a machine can read: with BAOCAO_LOG_FORMAT=json every record is one JSON object per line
(time, level, logger, message, and for requests: request id, method, path, status, duration,
user); an access line per request. A request id comes from the load balancer's X-Request-ID
header or is made here, and is sent back in the response so a user's report can be traced."""
from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

access = logging.getLogger("baocao.access")


class JsonFormatter(logging.Formatter):
    FIELDS = ("request_id", "method", "path", "status", "duration_ms", "user", "remote")

    def format(self, record: logging.LogRecord) -> str:
        out = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
               "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        for name in self.FIELDS:
            if hasattr(record, name):
                out[name] = getattr(record, name)
        if "request_id" not in out and has_request_context():
            out["request_id"] = g.get("request_id")
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure(app: Flask) -> None:
    fmt = app.config.get("LOG_FORMAT", "text")
    level = app.config.get("LOG_LEVEL", "INFO")
    root = logging.getLogger()
    access.disabled = False  # alembic's fileConfig (migrations run in the same process) disables existing loggers
    if fmt == "json" and not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.handlers = [handler]
        root.setLevel(level)

    @app.before_request
    def _start():
        g.request_id = (request.headers.get("X-Request-ID") or uuid.uuid4().hex)[:64]
        g.started = time.perf_counter()

    @app.after_request
    def _access(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if app.config.get("ACCESS_LOG") and request.endpoint not in ("static", "bootstrap.static", "healthz"):
            user = g.get("_login_user")
            access.info("%s %s %s", request.method, request.path, response.status_code, extra={
                "request_id": g.get("request_id"), "method": request.method, "path": request.path,
                "status": response.status_code, "duration_ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 1),
                "user": getattr(user, "username", None) if getattr(user, "is_authenticated", False) else None,
                "remote": request.remote_addr})
        return response
