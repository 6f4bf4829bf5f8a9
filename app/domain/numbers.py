"""Numbers as Vietnamese people write them (1.234.567,5) and as machines do (1234567.5).

Rule (docs/decisions/0002-submission.md): dots followed by groups of exactly three digits are
thousands separators, a comma is the decimal mark; a dot is read as a decimal mark only where it
cannot be a thousands separator ("1234.5", "0.25"). "1,234,567" and "1,234.5" (English grouping)
are refused with an explanation rather than guessed.
"""
from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from .errors import DomainError

PLACES = 6  # stored precision: Numeric(24, 6)
MAX_ABS = Decimal(10) ** 17
_QUANTUM = Decimal(1).scaleb(-PLACES)

_VN_GROUPED = re.compile(r"^[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?$")
_VN_PLAIN = re.compile(r"^\d+(?:,\d+)?$")
_DOT_DECIMAL = re.compile(r"^\d+\.\d+$")
_SPACES = re.compile(r"[\s\u00a0\u202f']")


class NotANumber(DomainError):
    pass


def parse_number(text: str | int | float | Decimal) -> Decimal:
    """The value of a cell or field as a Decimal of at most 6 decimal places."""
    if isinstance(text, bool):
        raise NotANumber("không phải số")
    if isinstance(text, int):
        return normalise(Decimal(text))
    if isinstance(text, float):
        if not math.isfinite(text):
            raise NotANumber("không phải số hữu hạn")
        return normalise(Decimal(repr(text)))
    if isinstance(text, Decimal):
        return normalise(text)
    raw = _SPACES.sub("", str(text))
    if not raw:
        raise NotANumber("ô trống")
    sign = 1
    if raw[0] in "+-":
        sign, raw = (-1 if raw[0] == "-" else 1), raw[1:]
    if _VN_GROUPED.match(raw):
        digits = raw.replace(".", "").replace(",", ".")
    elif _VN_PLAIN.match(raw):
        digits = raw.replace(",", ".")
    elif _DOT_DECIMAL.match(raw):
        digits = raw  # "1234.5", "0.250": a dot that cannot be a thousands separator
    elif re.match(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$", raw):
        raise NotANumber(f"“{text}” viết theo kiểu Anh (dấu phẩy phân cách hàng nghìn); "
                         "hãy dùng dấu chấm phân cách hàng nghìn và dấu phẩy thập phân, ví dụ 1.234.567,5")
    else:
        raise NotANumber(f"“{text}” không phải là số (ví dụ hợp lệ: 1.234.567,5 hoặc 1234567.5)")
    try:
        return normalise(Decimal(digits) * sign)
    except InvalidOperation:
        raise NotANumber(f"“{text}” không phải là số") from None


def normalise(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise NotANumber("không phải số hữu hạn")
    if abs(value) >= MAX_ABS:
        raise NotANumber("số quá lớn (tối đa 17 chữ số phần nguyên)")
    value = value.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)
    return value.normalize() if value else Decimal(0)


def canonical(value: Decimal) -> str:
    """The one text form of a number used for sealing and storage: no exponent, no trailing zeros."""
    return format(normalise(value), "f")


def format_vn(value: Decimal | float | int | None, places: int | None = None) -> str:
    """1234567.5 → "1.234.567,5" (places=None keeps the digits the value has)."""
    if value is None:
        return ""
    d = Decimal(str(value)) if not isinstance(value, Decimal) else value
    if places is not None:
        d = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    text = format(d.normalize() if places is None and d else d, "f")
    sign = "-" if text.startswith("-") else ""
    text = text.lstrip("-")
    whole, _, frac = text.partition(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    return sign + grouped + ("," + frac if frac else "")
