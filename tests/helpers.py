"""Helpers shared by tests: filling a downloaded Excel template the way a clerk would."""
from __future__ import annotations

import io
import os

os.environ.setdefault("OPENPYXL_LXML", "False")

import openpyxl  # noqa: E402


def retail_values(extra: dict | None = None) -> dict[str, object]:
    """Plausible values for every input row of BCT-BANLE Biểu 01 (row 7 ≥ its "of which" row)."""
    values = {f"BL_HH_{i:02d}": 100 + i for i in range(1, 13)}
    values |= {f"BL_DV_{i:02d}": 50 + i for i in range(1, 8)}
    values |= {f"BL_LT_{i:02d}": 20 + i for i in range(1, 4)}
    values["BL_HH_07_XD"] = 5
    values.update(extra or {})
    return values


def fill_template(data: bytes, values: dict[str, object], *, sheet: str = "Biểu 01", column: str = "E",
                  estimate: set[str] = frozenset(), comments: dict[str, str] | None = None, edit=None) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb[sheet]
    rows = {ws.cell(row=r, column=2).value: r for r in range(7, ws.max_row + 1)}
    header = [c.value for c in ws[5]]
    est_col = header.index("Ước tính") + 1
    note_col = header.index("Ghi chú / giải trình") + 1
    for code, value in values.items():
        ws[f"{column}{rows[code]}"] = value
    for code in estimate:
        ws.cell(row=rows[code], column=est_col, value="Có")
    for code, text in (comments or {}).items():
        ws.cell(row=rows[code], column=note_col, value=text)
    if edit:
        edit(wb, ws, rows)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def own_database(tmp_path, name: str) -> str:
    """A fresh, empty database for a test that runs real processes."""
    from sqlalchemy import create_engine, text

    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp_path / (name + '.sqlite')}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.rsplit("/", 1)[0] + "/" + name
