"""Mail bodies: Vietnamese plain-text and HTML parts from templates in app/templates/mail,
rendered by a plain Jinja environment (no request, no web context; HTML autoescaped)."""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

_ENV = Environment(loader=FileSystemLoader(Path(__file__).resolve().parents[1] / "templates" / "mail"),
                   autoescape=select_autoescape(["html"]), keep_trailing_newline=True)


def render(name: str, **context) -> str:
    return _ENV.get_template(name).render(**context)
