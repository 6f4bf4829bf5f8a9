"""Flash messages, bounded: they travel in the session cookie, so a message is cut to a size a
browser keeps (an error quoting a whole uploaded file once made a 690 KB cookie)."""
from __future__ import annotations

from flask import flash as _flash

from app.domain.errors import clip

MAX_FLASH = 1000
MAX_LISTED = 10


def flash(message: str, category: str = "message") -> None:
    _flash(clip(message, MAX_FLASH), category)


def flash_invalid(exc, category: str = "danger") -> None:
    """A refused input: the message and its first problems, then how many more there are."""
    items = [d.get("message", "") for d in exc.details] if getattr(exc, "details", None) else [str(p) for p in getattr(exc, "problems", [])]
    total = max(getattr(exc, "total", len(items)), len(items))
    text = str(exc)
    if items:
        text += ": " + "; ".join(clip(i, 200) for i in items[:MAX_LISTED])
        if total > MAX_LISTED:
            text += f" … và {total - MAX_LISTED} vấn đề khác"
    flash(text, category)
