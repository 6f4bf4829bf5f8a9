"""The tables of a form file a ministry publishes — an Excel workbook (openpyxl) or a Word document
(python-docx) — as plain `SourceTable`s: every row's cells as text, a merged cell's text in each
cell it covers, the label cell's indent, and the lines above each table (its caption). Several tables
in one file are returned separately (the designer picks one). A file with pictures and no table
— a scanned form — is refused with the reason. Same size and package limits as report uploads."""
from __future__ import annotations

import io

from app.domain.form_import import SourceTable, fold

from .excel import Limits, WorkbookRefused, check_zip

MAX_ROWS = 2_000  # a form, not a data dump
MAX_COLS = 60


class FormFileRefused(ValueError):
    pass


def _check_package(data: bytes, limits: Limits, kind: str, required: str) -> None:
    check_zip(data, limits, required=required, refused=FormFileRefused, not_zip=f"Tệp không phải {kind}",
              missing=f"Tệp không phải {kind} (thiếu {required})", broken="Tệp bị hỏng, không mở được",
              macros="Tệp có macro (VBA) — không nhận; hãy lưu lại dưới dạng .xlsx/.docx rồi tải lên")


def read_tables(data: bytes, filename: str, limits: Limits | None = None) -> list[SourceTable]:
    limits = limits or Limits()
    name = (filename or "").lower()
    if data[:4] == b"%PDF":
        raise FormFileRefused("Tệp PDF: hãy dùng tệp Word (.docx) hoặc Excel (.xlsx) gốc của biểu mẫu")
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise FormFileRefused("Tệp định dạng cũ (.doc/.xls): hãy mở bằng Word/Excel và lưu lại thành .docx/.xlsx")
    if name.endswith(".docx"):
        _check_package(data, limits, "văn bản Word .docx", "word/document.xml")
        return _docx(data)
    if name.endswith(".xlsx"):
        _check_package(data, limits, "bảng tính Excel .xlsx", "xl/workbook.xml")
        return _xlsx(data, limits)
    raise FormFileRefused("Chỉ nhận biểu mẫu dạng Word (.docx) hoặc Excel (.xlsx)")


# ------------------------------------------------------------------------------------------ xlsx
def _xlsx(data: bytes, limits: Limits) -> list[SourceTable]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # noqa: BLE001 — any parser failure is a file the user must fix
        raise FormFileRefused(f"Không đọc được bảng tính: {type(exc).__name__}") from None
    tables: list[SourceTable] = []
    pictures = 0
    for ws in wb.worksheets:
        pictures += len(getattr(ws, "_images", []))
        if ws.max_row > MAX_ROWS or ws.max_column > MAX_COLS:
            raise FormFileRefused(f"Trang tính “{ws.title}” có {ws.max_row} dòng × {ws.max_column} cột — quá lớn cho một biểu mẫu")
        raw = [["" if c.value is None else str(c.value) for c in row] for row in ws.iter_rows()]
        grid = [[v.strip() for v in row] for row in raw]
        indents = [[(int(c.alignment.indent or 0) if c.alignment is not None else 0) + _spaces(v) for c, v in zip(row, vals, strict=True)]
                   for row, vals in zip(ws.iter_rows(), raw, strict=True)]
        for rng in ws.merged_cells.ranges:  # a merged header cell's text in every cell it covers
            r0, c0 = rng.min_row - 1, rng.min_col - 1
            if r0 >= len(grid) or rng.max_row - rng.min_row >= 6:  # a note spread over many rows stays where it is
                continue
            top = grid[r0][c0]
            for r in range(r0, min(rng.max_row, len(grid))):
                for c in range(c0, min(rng.max_col, len(grid[r]))):
                    grid[r][c] = top
        tables += _split(ws.title, grid, indents)
    if not tables:
        if pictures:
            raise FormFileRefused("Bảng tính chỉ có hình ảnh (bản chụp/scan), không có ô chữ — hãy dùng tệp gốc có bảng")
        raise FormFileRefused("Không thấy bảng biểu mẫu nào (cần một dòng tiêu đề có cột “Chỉ tiêu” hoặc “Nội dung”)")
    return tables


def _split(name: str, grid: list[list[str]], indents: list[list[int]]) -> list[SourceTable]:
    """A sheet may hold several tables: each starts at a header row naming the label column; the
    lines just above it are its caption."""
    starts = [i for i, row in enumerate(grid) if any(_is_label_header(c) for c in row)]
    out = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(grid)
        # the caption: the non-empty lines above, back to the previous table's end or six lines
        caption = []
        for r in range(start - 1, max(-1, start - 7), -1):
            if n and r < starts[n - 1]:
                break
            cells = list(dict.fromkeys(c for c in grid[r] if c))  # a title merged across the columns counts once
            if cells and len(cells) <= 2:
                caption.insert(0, " ".join(cells))
            elif cells:
                break
        body = grid[start:end]
        if n + 1 < len(starts):  # the next table's caption is not this table's body
            while body and len(set(c for c in body[-1] if c)) <= 2 and not _has_number(body[-1]):
                body.pop()
        label_col = next(j for j, c in enumerate(grid[start]) if _is_label_header(c))
        rows_indent = [indents[start + k][label_col] if label_col < len(indents[start + k]) else 0 for k in range(len(body))]
        title = f"{name} — bảng {n + 1}" if len(starts) > 1 else name
        out.append(SourceTable(title, body, rows_indent, caption))
    return out


def _is_label_header(text: str) -> bool:
    f = fold(text)
    return f in ("chi tieu", "noi dung", "ten chi tieu", "danh muc", "chi tieu thong ke") or f.startswith(("chi tieu ", "noi dung "))


def _has_number(row: list[str]) -> bool:
    from app.domain.form_import import parse_number

    return any(parse_number(c) is not None for c in row[1:])


def _spaces(text: str) -> int:
    """Indentation typed as leading spaces (two per level), as many forms do."""
    return (len(text) - len(text.lstrip(" "))) // 2


# ------------------------------------------------------------------------------------------ docx
def _docx(data: bytes) -> list[SourceTable]:
    from docx import Document
    from docx.shared import Emu

    try:
        doc = Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001
        raise FormFileRefused(f"Không đọc được văn bản Word: {type(exc).__name__}") from None
    body = doc.element.body
    tables: list[SourceTable] = []
    caption: list[str] = []
    pictures = len(doc.inline_shapes)
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = Paragraph(child, doc).text.strip()
            if text:
                caption = (caption + [text])[-6:]
        elif tag == "tbl":
            table = Table(child, doc)
            grid, indents = [], []
            if len(table.rows) > MAX_ROWS:
                raise FormFileRefused(f"Bảng có {len(table.rows)} dòng — quá lớn cho một biểu mẫu")
            for row in table.rows:
                cells = row.cells[:MAX_COLS]
                grid.append([c.text.strip() for c in cells])  # a merged cell repeats across the cells it covers
                indent = 0
                for c in cells:
                    if c.paragraphs and c.text.strip() and not _short(c.text):
                        left = c.paragraphs[0].paragraph_format.left_indent or c.paragraphs[0].paragraph_format.first_line_indent
                        indent = int(Emu(left).cm // 0.5) if left else 0
                        break
                indents.append(max(0, indent))
            if any(any(_is_label_header(c) for c in row) for row in grid[:10]):
                tables.append(SourceTable(f"Bảng {len(tables) + 1}", grid, indents, caption))
            caption = []
    if not tables:
        if pictures:
            raise FormFileRefused("Văn bản chỉ có hình ảnh (bản chụp/scan), không có bảng — hãy dùng tệp Word gốc có bảng biểu mẫu")
        raise FormFileRefused("Không thấy bảng biểu mẫu nào (cần một bảng có cột “Chỉ tiêu” hoặc “Nội dung”)")
    return tables


def _short(text: str) -> bool:
    """A numbering cell ("1", "I", "a)") rather than the label."""
    return len(text.strip()) <= 5


__all__ = ["FormFileRefused", "WorkbookRefused", "read_tables"]
