"""Configuration: the only place that reads the environment. Fails fast on a bad setting."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


def _int(env: dict, name: str, default: int, lo: int = 0) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < lo:
        raise ConfigError(f"{name}={value} must be at least {lo}")
    return value


def _bool(env: dict, name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r}: use true or false")


def _choice(env: dict, name: str, allowed: tuple[str, ...], default: str) -> str:
    raw = (env.get(name) or "").strip() or default
    if raw not in allowed:
        raise ConfigError(f"{name}={raw!r}: use one of {', '.join(allowed)}")
    return raw


def load_config(env: dict | None = None) -> dict:
    """Build the Flask config from environment variables (see docs/operations.md)."""
    env = dict(os.environ if env is None else env)
    production = env.get("BAOCAO_ENV", "development") == "production"
    instance = Path(env.get("BAOCAO_INSTANCE", ROOT / "instance"))
    url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'baocao.sqlite'}"
    if not url.startswith(("sqlite://", "postgresql+psycopg://", "postgresql://")):
        raise ConfigError(
            f"DATABASE_URL={url.split('@')[-1]!r} is not supported: use sqlite:///path or postgresql+psycopg://user@host/db"
        )
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    secret = env.get("SECRET_KEY")
    if not secret:
        if production:
            raise ConfigError("SECRET_KEY must be set in production (BAOCAO_ENV=production)")
        secret = _dev_secret(instance)
    elif len(secret) < 16:
        raise ConfigError("SECRET_KEY is too short: use at least 16 random characters")
    tz_name = env.get("BAOCAO_TIMEZONE", "Asia/Ho_Chi_Minh")
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"BAOCAO_TIMEZONE={tz_name!r} is not a known time zone") from None
    locale = env.get("BAOCAO_LOCALE", "vi")
    if locale not in ("vi", "en"):
        raise ConfigError(f"BAOCAO_LOCALE={locale!r}: use vi or en")
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SECRET_KEY": secret,
        "TIMEZONE": tz_name,
        "BABEL_DEFAULT_LOCALE": locale,
        "BABEL_DEFAULT_TIMEZONE": tz_name,
        "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "app" / "translations"),
        "BOOTSTRAP_SERVE_LOCAL": True,
        "MAX_CONTENT_LENGTH": _int(env, "MAX_UPLOAD_MB", 10, lo=1) * 1024 * 1024,
        "CATALOGUE_ROOT": str(Path(env.get("BAOCAO_CATALOGUE", ROOT))),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env, "SESSION_COOKIE_SECURE", production),
        "WTF_CSRF_TIME_LIMIT": None,
        # login throttling (flask-limiter): failed attempts per account and per client address
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": False,
        "LOGIN_LIMIT_PER_ACCOUNT": env.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per minute;20 per hour"),
        "LOGIN_LIMIT_PER_ADDRESS": env.get("LOGIN_LIMIT_PER_ADDRESS", "30 per minute"),
        # behind a load balancer / reverse proxy: how many proxies set X-Forwarded-* (0 = trust none)
        "PROXY_HOPS": _int(env, "BAOCAO_PROXY_HOPS", 0),
        # logs: text for a terminal, json for a log collector (one object per line); an access line per request
        "LOG_FORMAT": _choice(env, "BAOCAO_LOG_FORMAT", ("text", "json"), "json" if production else "text"),
        "LOG_LEVEL": _choice(env, "BAOCAO_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"),
        "ACCESS_LOG": _bool(env, "BAOCAO_ACCESS_LOG", production),
        # forms with more cells than this are filled through the Excel template only (no web grid)
        "WEB_GRID_MAX_CELLS": _int(env, "WEB_GRID_MAX_CELLS", 3000, lo=100),
        # background jobs (app/services/jobs.py): a running job whose heartbeat is this old was lost with
        # its worker and is taken up again; result files kept in JOB_STORAGE_DIR (shared by all servers)
        "JOB_STALE_SECONDS": _int(env, "JOB_STALE_SECONDS", 120, lo=2),
        "JOB_STORAGE_DIR": env.get("JOB_STORAGE_DIR", ""),
        "JOB_RETENTION_DAYS": _int(env, "JOB_RETENTION_DAYS", 7, lo=1),
        "JOBS_INLINE": _bool(env, "JOBS_INLINE", False),
        "JOBS_PER_USER": _int(env, "JOBS_PER_USER", 10, lo=1),  # a user's jobs queued or running at once (each file sent is kept and read)
        # mail delivery: SMTP connections in parallel (PostgreSQL; each message still marked sent in its own commit)
        "MAIL_CONNECTIONS": _int(env, "MAIL_CONNECTIONS", 4, lo=1),
        # queued mail is delivered by a "mail" job queued with it (off: only the scheduler's minute delivers)
        "MAIL_JOBS": _bool(env, "MAIL_JOBS", True),
        # the data-quality pass runs in the request up to this many values in a period, else as a background job
        "QUALITY_INTERACTIVE_VALUES": _int(env, "QUALITY_INTERACTIVE_VALUES", 100_000, lo=0),  # tests: run each job at once, in the caller's transaction
        "IMPORT_INTERACTIVE_BYTES": _int(env, "IMPORT_INTERACTIVE_BYTES", 2_000_000, lo=0),  # SDMX/DHIS2 files above: imported by a background job
        "UPLOAD_INTERACTIVE_BYTES": _int(env, "UPLOAD_INTERACTIVE_BYTES", 1_000_000, lo=0),  # Excel workbooks above: read by a background job
        "EXPORT_INTERACTIVE_VALUES": _int(env, "EXPORT_INTERACTIVE_VALUES", 500_000, lo=0),  # SDMX/DHIS2 exports of more values (about): a background job
        # on the embedded default (SQLite) jobs run in the web process: at most this many at once, this many waiting
        "EXPORT_RENDER_THREADS": _int(env, "EXPORT_RENDER_THREADS", 2, lo=1),
        "EXPORT_RENDER_QUEUE": _int(env, "EXPORT_RENDER_QUEUE", 20, lo=1),
        # a long PDF's parts are laid out side by side on this many processes (started once, by the
        # process that renders; 1: in that process)
        "PDF_PROCESSES": _int(env, "PDF_PROCESSES", min(4, os.cpu_count() or 1), lo=1),
        # digital signatures (docs/operations.md): a time-stamping authority, fetching OCSP/CRLs, a PKCS#11 token or HSM
        "PKI_TSA_URL": env.get("PKI_TSA_URL", ""),
        "PKI_ALLOW_FETCHING": _bool(env, "PKI_ALLOW_FETCHING", False),
        "PKI_PKCS11_LIB": env.get("PKI_PKCS11_LIB", ""),
        "PKI_PKCS11_TOKEN": env.get("PKI_PKCS11_TOKEN", ""),
        "PKI_PKCS11_PIN": env.get("PKI_PKCS11_PIN", ""),
        "PKI_CSC_URL": env.get("PKI_CSC_URL", ""),  # a remote signing service (Cloud Signature Consortium API)
        "PKI_CSC_TOKEN": env.get("PKI_CSC_TOKEN", ""),  # this server's OAuth bearer token with it
        "PKI_CSC_PIN": env.get("PKI_CSC_PIN", ""),
        "PAGE_SIZE": _int(env, "PAGE_SIZE", 50, lo=5),
        "AUTOSAVE_SECONDS": _int(env, "AUTOSAVE_SECONDS", 20, lo=1),
        "INSTANCE_DIR": str(instance),
        # mail (reminders): a local relay by default; nothing is sent unless the scheduler runs
        "MAIL_SERVER": env.get("MAIL_SERVER", "localhost"),
        "MAIL_PORT": _int(env, "MAIL_PORT", 25, lo=1),
        "MAIL_USE_TLS": _bool(env, "MAIL_USE_TLS", False),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_SENDER": env.get("MAIL_SENDER", "baocao <noreply@baocao.local>"),
        "MAIL_TIMEOUT": _int(env, "MAIL_TIMEOUT", 10, lo=1),
        "MAIL_SINK_DIR": env.get("MAIL_SINK_DIR", ""),  # the demo: where `flask mail sink` keeps what it receives (/admin/mail)
        "BASE_URL": env.get("BAOCAO_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "REMINDER_HOUR": _int(env, "BAOCAO_REMINDER_HOUR", 8, lo=0),
        # flask-smorest / OpenAPI
        "API_TITLE": "baocao API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
    }


def _dev_secret(instance: Path) -> str:
    """A per-machine random key kept in instance/, so development sessions survive restarts."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
