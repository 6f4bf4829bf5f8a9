"""The compile chain's rules that need no database: how a compiled report is recorded, which of its
cells the compiler overrode, what an override needs, and the narrative gathered from the units.

A compiled version carries a record (`compilation`) frozen with it:

    {"at": ISO time, "tier": index of the tier compiled from, "policy": {"basis", "missing"},
     "sources": {agency: {"submission": id, "version": n, "status": s}},
     "carried": {agency: period key}        # missing units whose last value was carried (estimates)
     "missing": [agency, …],                # owed, not counted, not carried
     "values": {"IND|KEY": "123.5" | None}, # the compiled value of every typed cell
     "units": {"IND|KEY": n}, "estimates": ["IND|KEY", …]}
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from .layout import CellKey, Entry
from .validation import Finding


def cell_id(key: CellKey) -> str:
    return f"{key[0]}|{key[1]}"


def key_of(cell: str) -> CellKey:
    code, _, dkey = cell.partition("|")
    return code, dkey


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    try:
        return Decimal(str(a)) == Decimal(str(b))
    except (InvalidOperation, ValueError):
        return str(a) == str(b)


def overrides(record: Mapping | None, entries: Mapping[CellKey, Entry]) -> dict[CellKey, tuple[object, object]]:
    """Cells whose value differs from the compiled one: key → (compiled, current)."""
    if not record:
        return {}
    out = {}
    for cell, compiled in (record.get("values") or {}).items():
        key = key_of(cell)
        current = entries[key].value if key in entries else None
        if not _same(compiled, current):
            out[key] = (compiled, current)
    return out


def override_findings(record: Mapping | None, entries: Mapping[CellKey, Entry], where) -> list[Finding]:
    """An overridden compiled cell needs a reason, written in its row's note (ghi chú / giải trình):
    the receiver sees the compiled figure beside the one sent, and why they differ."""
    out = []
    for key, (compiled, _current) in sorted(overrides(record, entries).items()):
        note = entries.get((key[0], ""), Entry(None)).comment.strip()
        if not note:
            shown = "trống" if compiled is None else str(compiled)
            out.append(Finding("error", "override_reason", f"Số đã sửa so với số tổng hợp từ cấp dưới ({shown}): ghi lý do ở cột "
                               "“Ghi chú / giải trình” của dòng này", key[0], key[1], where(key)))  # noqa: RUF001
    return out


def gathered_narrative(sections: list[str], texts: Mapping[str, Mapping[str, str]], names: Mapping[str, str]) -> dict[str, str]:
    """The starting draft of the compiled outline sections: each unit's text under its name."""
    out = {}
    for code in sections:
        parts = [f"{names.get(agency, agency)}: {text.strip()}" for agency, outline in sorted(texts.items(), key=lambda kv: names.get(kv[0], kv[0]))
                 if (text := (outline.get(code) or "")).strip()]
        if parts:
            out[code] = "\n\n".join(parts)
    return out
