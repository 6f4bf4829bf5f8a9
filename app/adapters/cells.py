"""The one way baocao writes a cell of a workbook it makes (templates, exports): text is always
stored as text, never as a formula, whatever it starts with (“=”, “+”, “-”, “@”). openpyxl turns a
string that starts with “=” into a live formula; an indicator name, a unit, an option label or a
comment typed as `=HYPERLINK(...)` would then run in every reporter's Excel. Formulas the app means
to write go through `formula()` — the only way one gets into a workbook."""
from __future__ import annotations

from collections.abc import Iterable


def put(cell, value) -> None:
    """Write a value: numbers and dates as they are, text as text."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"


def formula(cell, expression: str) -> None:
    """Write a formula the app itself computes (totals, ratios) — never text that came from a user."""
    if not expression.startswith("="):
        raise ValueError("a formula starts with “=”")
    cell.value = expression


def append(ws, values: Iterable) -> None:
    """ws.append, with every text cell of the new row stored as text."""
    ws.append(list(values))
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
