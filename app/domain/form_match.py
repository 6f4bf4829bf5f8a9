"""Matching a form's rows to the indicator library (app/domain/form_import.py proposes the rows):
names compared with diacritics folded, units and the parent's match weighed in. Pure Python."""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from .designer import fold  # lower case, no diacritics (đ → d), words only — as the designer compares names


@dataclass(frozen=True)
class LibraryIndicator:
    code: str
    name: str
    unit: str
    parent: str = ""  # its parent row in a published form, when it has one


@dataclass(frozen=True)
class Match:
    code: str
    name: str
    unit: str
    confidence: float
    why: str


def match_library(label: str, unit: str, parent_label: str, parent_match: str, library: list[LibraryIndicator],
                  *, limit: int = 3) -> list[Match]:
    """The library's indicators closest to a row: name similarity (diacritics folded; the row's own
    name and "parent — name", as library names often carry their group), unit agreement, and the
    parent's match (the library indicator sits under it in a published form)."""
    own = fold(label)
    with_parent = fold(f"{parent_label} {label}") if parent_label else own
    words = set(own.split())
    out = []
    for ind in library:
        name = fold(ind.name)
        if not name:
            continue
        a, b = difflib.SequenceMatcher(None, own, name), difflib.SequenceMatcher(None, with_parent, name)
        if max(a.real_quick_ratio(), b.real_quick_ratio()) < 0.45 and not (words & set(name.split())):
            continue  # cannot reach the floor: skip the full comparison (rows × library is the work of an import)
        ratio = max(a.ratio(), b.ratio())
        theirs = set(name.split())
        jaccard = len(words & theirs) / len(words | theirs) if words | theirs else 0.0
        score = max(ratio, jaccard)
        if score < 0.45:
            continue
        why = [f"tên giống {round(score * 100)} %"]
        if unit and ind.unit:
            if fold(unit) == fold(ind.unit):
                score += 0.08
                why.append("cùng đơn vị tính")
            else:
                score -= 0.25
                why.append(f"khác đơn vị tính ({ind.unit})")
        if parent_match and ind.parent == parent_match:
            score += 0.08
            why.append("cùng dòng cha")
        out.append((score, Match(ind.code, ind.name, ind.unit, round(min(score, 1.0), 2), ", ".join(why))))
    return [m for _s, m in sorted(out, key=lambda sm: -sm[0])][:limit]


MATCH_AT = 0.82  # confidence from which a row is proposed as the library's indicator rather than a new one


def library_from(cat) -> tuple[list[LibraryIndicator], dict[str, dict[str, str]]]:
    """The indicator library (with each indicator's parent row in a published form) and the
    disaggregations' options {code: {option: name}}, from a `Catalogue`."""
    parents: dict[str, str] = {}
    for regime in cat.regimes.values():
        for form in regime.forms:
            for row in form.rows:
                if row.parent and not row.of_which:
                    parents.setdefault(row.indicator, row.parent)
    library = [LibraryIndicator(i.code, i.name_vi, i.unit, parents.get(i.code, "")) for i in cat.indicators.values()]
    options = {d.code: {o.code: o.name_vi for o in d.options} for d in cat.disaggregations.values()}
    return library, options
