"""Vietnamese first: locale choice, Vietnamese number and date formats for templates."""
from __future__ import annotations

from datetime import date, datetime

from babel.numbers import format_decimal
from flask import current_app, has_request_context, request, session
from flask_login import current_user

LOCALES = ("vi", "en")


def select_locale() -> str:
    if not has_request_context():  # mail rendered by the scheduler: the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    if getattr(current_user, "is_authenticated", False) and current_user.locale in LOCALES:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["TIMEZONE"]


def vn_date(value: date | datetime | None) -> str:
    """dd/mm/yyyy — in local time for timestamps."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        from flask_babel import to_user_timezone

        return to_user_timezone(value).strftime("%d/%m/%Y %H:%M")
    return value.strftime("%d/%m/%Y")


def vn_number(value) -> str:
    """1.234.567,5 — Vietnamese grouping and decimal marks whatever the interface language."""
    if value is None:
        return ""
    return format_decimal(value, locale="vi")


def vn_decimal(value, places: int | None = None) -> str:
    """An exact stored value (Decimal) in Vietnamese form, keeping its digits: 1234567.5 → 1.234.567,5."""
    from app.domain.numbers import format_vn

    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    return format_vn(value, places)


def vn_period(key, fallback: str = "") -> str:
    """A period (or its key) as people read it in the page's language: 2026-M11 → "Tháng 11/2026"
    ("November 2026"), 2026-Q3 → "Quý III/2026" ("Q3 2026"); an ad hoc request's own key gives the
    `fallback` (its data dates) or stays as it is."""
    from flask_babel import get_locale

    from app.domain.errors import DomainError
    from app.domain.periods import Period

    if not key:
        return fallback
    lang = str(get_locale() or "vi")[:2]
    if isinstance(key, Period):
        return key.label(lang)
    try:
        return Period.parse(key).label(lang)
    except (DomainError, ValueError, KeyError):
        return fallback or key


def init_app(app) -> None:
    app.jinja_env.filters["vn_period"] = vn_period
    app.jinja_env.filters["vn_date"] = vn_date
    app.jinja_env.filters["vn_decimal"] = vn_decimal
    app.jinja_env.filters["vn_number"] = vn_number

    @app.context_processor
    def _locale():
        from flask_babel import get_locale

        return {"current_locale": str(get_locale()), "request_path": request.path}
