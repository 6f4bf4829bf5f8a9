"""Names and e-mail addresses as they enter baocao: addresses checked by a real validator
(email-validator: syntax, no deliverability lookup), names and subjects stripped of control
characters — a CR/LF in a header once stopped all mail delivery."""
from __future__ import annotations

import re
import unicodedata

import email_validator

from .errors import DomainError

# Agencies run mail on intranet domains such as *.local (the demo does too): accepted, though
# special-use on the Internet. email-validator's documented switch is this module-level list.
if "local" in email_validator.SPECIAL_USE_DOMAIN_NAMES:
    email_validator.SPECIAL_USE_DOMAIN_NAMES.remove("local")

_SPACES = re.compile(r"\s+")


def one_line(text: str | None, limit: int = 255) -> str:
    """Text for a name, a title or a mail header: no control or format characters, one line."""
    kept = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in (text or ""))
    return _SPACES.sub(" ", kept).strip()[:limit]


def check_email(address: str | None) -> str | None:
    """The normalised address, None for none, or DomainError with the reason in Vietnamese."""
    address = (address or "").strip()
    if not address:
        return None
    if len(address) > 254:
        raise DomainError("địa chỉ thư điện tử dài quá 254 ký tự")
    try:
        return email_validator.validate_email(address, check_deliverability=False).normalized
    except email_validator.EmailNotValidError as exc:
        raise DomainError(f"địa chỉ thư điện tử “{address[:80]}” không hợp lệ ({exc})") from None
