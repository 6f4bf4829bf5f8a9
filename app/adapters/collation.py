"""Vietnamese order and diacritic-blind search, from ICU (PyICU): names sort as Vietnamese readers
expect (a ă â b c d đ e ê …, tones after the letter: Cà Mau before Cao Bằng, Đắk Lắk after Dak
Nông and before Điện Biên), and "ba vi" finds "Xã Ba Vì", "xang dau" finds "xăng dầu".

`sort_key` is the ICU collation key as text, stored beside a name (agencies.sort_name) so that
the database orders pages of names the same way on SQLite and PostgreSQL; `fold` is the text a
search compares (stored in search_text columns, and applied to the query)."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TypeVar

import icu

T = TypeVar("T")
_local = threading.local()  # ICU collators and transliterators are not to be shared between threads


def _collator():
    c = getattr(_local, "collator", None)
    if c is None:
        c = _local.collator = icu.Collator.createInstance(icu.Locale("vi"))
    return c


def _folder():
    f = getattr(_local, "folder", None)
    if f is None:
        f = _local.folder = icu.Transliterator.createInstance("Any-Latin; Latin-ASCII; Lower")
    return f


def sort_key(text: str | None) -> str:
    """The collation key of `text` as a string that compares (byte-wise, as both databases compare
    ASCII) in Vietnamese alphabetical order."""
    return _collator().getSortKey(text or "").rstrip(b"\x00").hex()


def fold(text: str | None) -> str:
    """Lower case without diacritics (đ → d), spaces collapsed: what searches compare."""
    return " ".join(_folder().transliterate(text or "").split())


def sorted_vi(items: Iterable[T], key: Callable[[T], str] = lambda x: x) -> list[T]:  # type: ignore[assignment,return-value]
    collator = _collator()
    return sorted(items, key=lambda item: collator.getSortKey(key(item) or ""))
