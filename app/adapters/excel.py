"""The Excel template of a report: written with openpyxl (styles, protection, drop-downs, formulas),
read back with python-calamine (fast; refuses DTD entities). Reading never trusts the file: the size
of every part is checked before parsing, and only the cells the template defines are read.

Layout of a form sheet (docs/decisions/0002-submission.md):
    rows 1–4   title, agency, period and deadline, instructions
    rows 5–6   headers (merged group headers over breakdown columns)
    row 7…     one row per indicator: A STT, B code, C name, D unit, then value columns, the columns
               baocao fills, "Ước tính" (drop-down) and "Ghi chú / giải trình".
A very hidden sheet `_baocao` names the regime version, agency and period and maps columns to keys.
"""
from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

os.environ.setdefault("OPENPYXL_LXML", "False")  # every openpyxl XML path through defusedxml (shared/stack.md)

import python_calamine  # noqa: E402
from openpyxl import Workbook  # noqa: E402
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side  # noqa: E402
from openpyxl.utils import get_column_letter  # noqa: E402
from openpyxl.worksheet.datavalidation import DataValidation  # noqa: E402

from app.adapters import cells  # noqa: E402
from app.domain.layout import SYSTEM_LABELS, TOTAL, CellKey, Layout  # noqa: E402
from app.domain.validation import Finding  # noqa: E402

TEMPLATE_FORMAT = "baocao-template/1"
IDENTITY_KEYS = ("format", "regime", "regime_version", "regime_hash", "agency", "period")
META_SHEET = "_baocao"
INFO_SHEET = "Hướng dẫn"
HEADER_ROWS = (5, 6)
FIRST_ROW = 7
FIRST_VALUE_COL = 5  # E
YES = {"có", "co", "x", "yes", "true", "1", "ước", "uoc"}
NO = {"", "không", "khong", "no", "false", "0"}

_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_INPUT = PatternFill("solid", fgColor="FFF7CC")
_COMPUTED = PatternFill("solid", fgColor="E8E8E8")
_SYSTEM = PatternFill("solid", fgColor="DDEBF7")
_HEAD = PatternFill("solid", fgColor="D9D9D9")
_FONT = "Times New Roman"
NUMBER_FORMAT = "#,##0.######"


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 10 * 1024 * 1024
    max_uncompressed: int = 100 * 1024 * 1024
    max_parts: int = 500
    max_cells: int = 2_000_000


@dataclass
class TemplateSpec:
    layout: Layout
    regime_code: str
    regime_name: str
    regime_version: int
    regime_hash: str
    agency_code: str
    agency_name: str
    period_key: str
    period_label: str
    deadline: str  # dd/mm/yyyy
    current: Mapping[CellKey, object] = field(default_factory=dict)  # values already entered
    estimates: set[str] = field(default_factory=set)  # indicators marked as estimates
    comments: Mapping[str, str] = field(default_factory=dict)  # per indicator
    system: Mapping[str, Mapping[str, Decimal | None]] = field(default_factory=dict)  # column → indicator → value
    earlier_ytd: Mapping[str, Decimal | None] = field(default_factory=dict)  # indicator → sum of earlier periods
    carried: Mapping[str, Decimal] = field(default_factory=dict)  # indicator → value carried from last period


@dataclass
class WorkbookData:
    meta: dict[str, str]
    raw: dict[CellKey, tuple[object, bool, str]]
    refs: dict[CellKey, str]
    findings: list[Finding]


class WorkbookRefused(Exception):
    """The file as a whole is not acceptable (not a workbook, too big, not our template)."""


# ----------------------------------------------------------------------------------------- write
def sheet_title(grid) -> str:
    return grid.label[:31]


def build_template(spec: TemplateSpec) -> bytes:
    wb = Workbook()
    info = wb.active
    info.title = INFO_SHEET
    _info_sheet(info, spec)
    meta = wb.create_sheet(META_SHEET)
    meta.sheet_state = "veryHidden"
    for row in zip(IDENTITY_KEYS, (TEMPLATE_FORMAT, spec.regime_code, spec.regime_version, spec.regime_hash,
                                   spec.agency_code, spec.period_key), strict=True):
        cells.append(meta, row)
    for grid in spec.layout.forms:
        ws = wb.create_sheet(sheet_title(grid))
        cols = _form_columns(grid)
        cells.append(meta, ["sheet", grid.form.code, ws.title, FIRST_ROW])
        for letter, key, label in cols:
            cells.append(meta, ["column", grid.form.code, letter, key, label])
        _form_sheet(ws, grid, cols, spec)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _form_columns(grid) -> list[tuple[str, str, str]]:
    """(letter, key, header) for every column after D. Keys: "v:<dkey>", "s:<system column>",
    "estimate", "comment"."""
    out = []
    col = FIRST_VALUE_COL
    for c in grid.columns:
        out.append((get_column_letter(col), f"v:{c.key}", c.label))
        col += 1
    for s in grid.system_columns:
        out.append((get_column_letter(col), f"s:{s}", SYSTEM_LABELS.get(s, s)))
        col += 1
    out.append((get_column_letter(col), "estimate", "Ước tính"))
    out.append((get_column_letter(col + 1), "comment", "Ghi chú / giải trình"))
    return out


def _info_sheet(ws, spec: TemplateSpec) -> None:
    lines = [
        (spec.regime_name, True),
        (f"Mã chế độ: {spec.regime_code} — phiên bản {spec.regime_version}", False),
        (f"Đơn vị báo cáo: {spec.agency_name} ({spec.agency_code})", False),
        (f"Kỳ báo cáo: {spec.period_label} — hạn gửi {spec.deadline}", False),
        ("", False),
        ("Cách điền:", True),
        ("1. Chỉ nhập vào các ô màu vàng. Ô màu xám là tổng, tự tính; ô màu xanh do hệ thống điền từ số liệu đã gửi.", False),
        ("2. Số có thể ghi 1.234.567,5 (dấu chấm phân cách hàng nghìn, dấu phẩy thập phân) hoặc nhập như số thông thường.", False),
        ("3. Số chưa hết kỳ (ước thực hiện): chọn “Có” ở cột “Ước tính”.", False),
        ("4. Khi số liệu thay đổi nhiều so với kỳ trước, ghi giải trình ở cột “Ghi chú / giải trình”.", False),
        ("5. Không đổi tên trang, không chèn hay xóa cột. Có thể thêm trang khác để tính toán — hệ thống bỏ qua.", False),
        ("6. Tải tệp lên tại mục “Báo cáo của tôi”. Nếu có lỗi, hệ thống liệt kê từng ô cần sửa và không lưu gì.", False),
    ]
    for i, (text, bold) in enumerate(lines, 1):
        cell = ws.cell(row=i, column=1)
        cells.put(cell, text)
        cell.font = Font(name=_FONT, size=13 if i == 1 else 12, bold=bold)
    ws.column_dimensions["A"].width = 120
    ws.protection.sheet = True


def _form_sheet(ws, grid, cols: list[tuple[str, str, str]], spec: TemplateSpec) -> None:
    last_col = get_column_letter(FIRST_VALUE_COL + len(cols) - 1)
    cells.put(ws["A1"], f"{grid.label.upper()}: {grid.form.title}")
    ws["A1"].font = Font(name=_FONT, size=13, bold=True)
    ws.merge_cells(f"A1:{last_col}1")
    cells.put(ws["A2"], f"Đơn vị báo cáo: {spec.agency_name} ({spec.agency_code})")
    cells.put(ws["A3"], f"Kỳ báo cáo: {spec.period_label} — Hạn gửi: {spec.deadline}")
    cells.put(ws["A4"], "Nhập vào ô màu vàng; ô xám tự tính; ô xanh do hệ thống điền.")
    for r in (2, 3, 4):
        ws[f"A{r}"].font = Font(name=_FONT, size=12, italic=r == 4)
    heads = [("A", "STT"), ("B", "Mã chỉ tiêu"), ("C", "Chỉ tiêu"), ("D", "Đơn vị tính")]
    for letter, text in heads:
        cells.put(ws[f"{letter}5"], text)
        ws.merge_cells(f"{letter}5:{letter}6")
    value_cols = [c for c in cols if c[1].startswith("v:")]
    if len(value_cols) > 1:
        cells.put(ws[f"{value_cols[0][0]}5"], "Thực hiện kỳ này")
        ws.merge_cells(f"{value_cols[0][0]}5:{value_cols[-1][0]}5")
        for letter, _key, label in value_cols:
            cells.put(ws[f"{letter}6"], label)
    for letter, key, label in cols:
        if len(value_cols) > 1 and key.startswith("v:"):
            continue
        cells.put(ws[f"{letter}5"], label)
        ws.merge_cells(f"{letter}5:{letter}6")
    for row in ws.iter_rows(min_row=5, max_row=6, max_col=FIRST_VALUE_COL + len(cols) - 1):
        for cell in row:
            cell.font = Font(name=_FONT, bold=True, size=11)
            cell.fill = _HEAD
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.border = _BORDER
    letter_of = {key: letter for letter, key, _ in cols}
    row_of = {line.indicator.code: FIRST_ROW + i for i, line in enumerate(grid.lines)}
    for i, line in enumerate(grid.lines):
        r = FIRST_ROW + i
        code = line.indicator.code
        cells.put(ws[f"A{r}"], line.row.row)
        cells.put(ws[f"B{r}"], code)
        cells.put(ws[f"C{r}"], ("    " * line.depth) + line.label)
        cells.put(ws[f"D{r}"], line.indicator.unit)
        bold = bool(grid.form.children(code)) or line.depth == 0
        for letter in "ABCD":
            ws[f"{letter}{r}"].font = Font(name=_FONT, size=11, bold=bold)
            ws[f"{letter}{r}"].border = _BORDER
        for cell in line.cells:
            ref = f"{letter_of['v:' + cell.key]}{r}"
            target = ws[ref]
            target.border = _BORDER
            target.number_format = NUMBER_FORMAT if cell.indicator.value_type != "text" else "@"
            target.font = Font(name=_FONT, size=11, bold=bold)
            if cell.kind == "children":
                kids = [row_of[c.indicator] for c in grid.form.children(code) if c.indicator in row_of]
                cells.formula(target, "=SUM(" + ",".join(f"{letter_of['v:' + cell.key]}{k}" for k in kids) + ")")
                target.fill = _COMPUTED
            elif cell.kind == "options":
                opts = [c.key for c in grid.columns if c.key != TOTAL]
                cells.formula(target, f"=SUM({letter_of['v:' + opts[0]]}{r}:{letter_of['v:' + opts[-1]]}{r})")
                target.fill = _COMPUTED
            elif cell.kind == "ratio":
                ind = cell.indicator
                if all(c in row_of for c in ind.numerator + ind.denominator):
                    col = letter_of["v:" + cell.key]
                    num = "+".join(f"{col}{row_of[c]}" for c in ind.numerator)
                    den = "+".join(f"{col}{row_of[c]}" for c in ind.denominator)
                    cells.formula(target, f'=IFERROR(({num})/({den})*{ind.scale:g},"")')
                target.fill = _COMPUTED
            else:
                value = spec.current.get((code, cell.key))
                if value is None and cell.key == TOTAL and code in spec.carried:
                    value = spec.carried[code]
                cells.put(target, float(value) if isinstance(value, Decimal) else value)
                target.fill = _INPUT
                target.protection = Protection(locked=False)
        current_ref = f"{letter_of['v:' + TOTAL]}{r}"
        for s in grid.system_columns:
            target = ws[f"{letter_of['s:' + s]}{r}"]
            target.border = _BORDER
            target.fill = _SYSTEM
            target.font = Font(name=_FONT, size=11, bold=bold)
            target.number_format = NUMBER_FORMAT
            values = spec.system.get(s, {})
            if s == "cumulative":
                if line.indicator.aggregation == "sum":
                    earlier = spec.earlier_ytd.get(code)
                    cells.formula(target, f"={float(earlier or 0):g}+N({current_ref})")
            elif s in ("pct_previous", "pct_same_period_last_year"):
                base = "previous" if s == "pct_previous" else "same_period_last_year"
                if base in grid.system_columns:
                    b = f"{letter_of['s:' + base]}{r}"
                    cells.formula(target, f'=IF(OR({b}="",{b}=0,{current_ref}=""),"",{current_ref}/{b}*100)')
                    target.number_format = "0.0"
                else:
                    v = values.get(code)
                    target.value = float(v) if v is not None else None
            else:
                v = values.get(code)
                target.value = float(v) if v is not None else None
        for key in ("estimate", "comment"):
            target = ws[f"{letter_of[key]}{r}"]
            target.border = _BORDER
            target.fill = _INPUT
            target.protection = Protection(locked=False)
            target.font = Font(name=_FONT, size=11)
            if key == "estimate" and code in spec.estimates:
                cells.put(target, "Có")
            if key == "comment" and spec.comments.get(code):
                cells.put(target, spec.comments[code])
    last = FIRST_ROW + len(grid.lines) - 1
    dv = DataValidation(type="list", formula1='"Có,Không"', allow_blank=True, showErrorMessage=True,
                        errorTitle="Giá trị không hợp lệ", error="Chọn “Có” nếu là số ước thực hiện; để trống nếu là số thực hiện")
    dv.add(f"{letter_of['estimate']}{FIRST_ROW}:{letter_of['estimate']}{last}")
    ws.add_data_validation(dv)
    widths = {"A": 6, "B": 22, "C": 55, "D": 14}
    for letter, w in widths.items():
        ws.column_dimensions[letter].width = w
    for letter, key, _ in cols:
        ws.column_dimensions[letter].width = 40 if key == "comment" else 16
    ws.freeze_panes = f"E{FIRST_ROW}"
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.print_options.gridLines = False
    ws.page_setup.orientation = "landscape"


# ------------------------------------------------------------------------------------------ read
def check_package(data: bytes, limits: Limits) -> None:
    """Refuse what is not an .xlsx package of reasonable size before any XML is parsed."""
    check_zip(data, limits, required="xl/workbook.xml", refused=WorkbookRefused,
              not_zip="Tệp không phải bảng tính Excel .xlsx (hãy tải mẫu từ hệ thống và lưu dưới dạng .xlsx)",
              missing="Tệp không phải bảng tính Excel .xlsx (thiếu xl/workbook.xml)", broken="Tệp .xlsx bị hỏng, không mở được",
              macros="Tệp có macro (VBA) — không nhận; hãy lưu lại dưới dạng .xlsx (Excel Workbook) rồi tải lên")


def check_zip(data: bytes, limits: Limits, *, required: str, refused: type[Exception], not_zip: str, missing: str, broken: str,
              macros: str) -> None:
    """An Office package (.xlsx, .docx) within the limits — size, parts, uncompressed size (zip
    bombs), no macros, the part that makes it what it claims — before any XML is parsed."""
    if len(data) > limits.max_bytes:
        raise refused(f"Tệp lớn {len(data) / 1048576:.1f} MB, vượt giới hạn {limits.max_bytes / 1048576:.0f} MB")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise refused(not_zip)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise refused(broken) from None
    if len(infos) > limits.max_parts:
        raise refused(f"Tệp có {len(infos)} thành phần, quá nhiều cho một mẫu báo cáo")
    total = sum(i.file_size for i in infos)
    if total > limits.max_uncompressed:
        raise refused(f"Tệp giải nén ra {total / 1048576:.0f} MB, vượt giới hạn {limits.max_uncompressed / 1048576:.0f} MB — không xử lý")
    names = {i.filename for i in infos}
    if required not in names:
        raise refused(missing)
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise refused(macros)


class WrongTemplate(WorkbookRefused):
    """The file is a template of ours, but for another regime, version, agency or period."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


META_MAX_CELLS = 20_000  # the identity sheet of the largest shipped regime has a few hundred


def read_workbook(data: bytes, limits: Limits, layout: Layout,
                  identity: Callable[[Mapping[str, str]], list[str]]) -> WorkbookData:
    """Meta and raw cells of a filled template. Problems with individual cells are returned as
    findings (every one of them); a file that is not our template raises WorkbookRefused, one made
    for another report raises WrongTemplate.

    The work is bounded by what the regime version defines, never by what the file claims: the
    identity sheet is read once (small, capped) and checked by `identity` before any form sheet is
    opened; then each form of `layout` is read once, at the sheet title and columns the template
    writer gives it. The sheet and column rows of the identity sheet are not trusted."""
    check_package(data, limits)
    try:
        wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises its own error types for every malformed part
        # the library's own words are English and technical: the user is told what to do, the log keeps the detail
        import logging

        logging.getLogger(__name__).info("workbook refused: %s", str(exc)[:300])
        raise WorkbookRefused("Không đọc được bảng tính: tệp không phải Excel .xlsx hợp lệ (có thể là tệp .xls cũ, tệp .csv đổi "
                              "tên, hoặc tệp hỏng) — hãy tải mẫu từ hệ thống, nhập số liệu và lưu lại dạng .xlsx") from None
    if META_SHEET not in wb.sheet_names:
        raise WorkbookRefused("Tệp không phải mẫu Excel của hệ thống (thiếu trang nhận dạng) — hãy tải mẫu từ hệ thống")
    meta: dict[str, str] = {}
    for row in _rows(wb, META_SHEET, replace(limits, max_cells=META_MAX_CELLS)):
        if row and len(row) >= 2 and str(row[0]) in IDENTITY_KEYS and str(row[0]) not in meta:
            meta[str(row[0])] = _text(row[1])[:200]
    if meta.get("format") != TEMPLATE_FORMAT:
        raise WorkbookRefused("Trang nhận dạng của tệp không đúng định dạng mẫu của hệ thống — hãy tải mẫu mới")
    problems = identity(meta)
    if problems:
        raise WrongTemplate(problems)
    out = WorkbookData(meta, {}, {}, [])
    for grid in layout.forms:
        title = sheet_title(grid)
        if title not in wb.sheet_names:
            out.findings.append(Finding("error", "missing_sheet", f"Thiếu trang “{title}” (đã đổi tên hoặc xóa?)", where=title))
            continue
        cols = [(_col_index(letter), key, label) for letter, key, label in _form_columns(grid)]
        _read_form(wb, grid.form.code, title, FIRST_ROW, cols, limits, out)
    return out


def _read_form(wb, form_code: str, title: str, first_row: int, cols: list[tuple[int, str, str]], limits: Limits,
               out: WorkbookData) -> None:
    rows = _rows(wb, title, limits)
    for idx, _key, label in cols:
        texts = [_text(_at(rows, r - 1, idx)) for r in HEADER_ROWS]
        if label and label not in texts:
            found = next((t for t in texts if t), "")
            out.findings.append(Finding(
                "error", "layout", f"Cột {_letter(idx)} của trang “{title}” phải là “{label}” nhưng đang là “{found}” "
                "— đừng chèn hay xóa cột; hãy tải lại mẫu", where=f"{title}!{_letter(idx)}{HEADER_ROWS[0]}"))
            return
    value_cols = [(i, k[2:]) for i, k, _ in cols if k.startswith("v:")]
    system_cols = [(i, k[2:]) for i, k, _ in cols if k.startswith("s:")]
    est_col = next((i for i, k, _ in cols if k == "estimate"), None)
    note_col = next((i for i, k, _ in cols if k == "comment"), None)
    seen: dict[str, int] = {}
    for r in range(first_row - 1, len(rows)):
        excel_row = r + 1
        code = _text(_at(rows, r, 1))
        filled = [i for i, _k in value_cols if _blank(_at(rows, r, i)) is False]
        if not code:
            if filled:
                out.findings.append(Finding("error", "no_code", f"Dòng {excel_row} có số liệu nhưng cột B (mã chỉ tiêu) trống",
                                            where=f"{title}!B{excel_row}"))
            continue
        if code in seen:
            out.findings.append(Finding("error", "duplicate_row", f"Mã chỉ tiêu “{code}” xuất hiện hai lần: dòng {seen[code]} và dòng {excel_row}",
                                        code, where=f"{title}!B{excel_row}"))
            continue
        seen[code] = excel_row
        estimate = False
        if est_col is not None:
            flag = _text(_at(rows, r, est_col)).lower()
            if flag in YES:
                estimate = True
            elif flag not in NO:
                out.findings.append(Finding("error", "bad_flag", f"Cột “Ước tính” chỉ nhận “Có” hoặc để trống, nhận được “{flag}”",
                                            code, where=f"{title}!{_letter(est_col)}{excel_row}"))
        note = _text(_at(rows, r, note_col)) if note_col is not None else ""
        for i, key in value_cols:
            ref = f"{title}!{_letter(i)}{excel_row}"
            raw = _at(rows, r, i)
            if isinstance(raw, (datetime, date, timedelta)):
                out.findings.append(Finding("error", "not_a_number", f"Ô chứa ngày/giờ, không phải số: {raw}", code, key, ref))
                continue
            if isinstance(raw, str) and raw.startswith("#"):
                out.findings.append(Finding("error", "formula_error", f"Ô có lỗi công thức {raw}", code, key, ref))
                continue
            if isinstance(raw, bool):
                out.findings.append(Finding("error", "not_a_number", "Ô chứa giá trị đúng/sai, không phải số", code, key, ref))
                continue
            comment = note if key == TOTAL else ""
            value = None if _blank(raw) else raw
            if value is None and not comment and not estimate:
                continue
            out.raw[(code, key)] = (value, estimate, comment)
            out.refs[(code, key)] = ref
        for i, _key in system_cols:
            out.refs.setdefault((code, "s:" + _key), f"{title}!{_letter(i)}{excel_row}")
        if note and (code, TOTAL) not in out.raw:
            out.raw[(code, TOTAL)] = (None, estimate, note)
    if not seen:
        out.findings.append(Finding("error", "no_rows", f"Không tìm thấy mã chỉ tiêu nào ở cột B của trang “{title}” "
                                    "(cột mã bị xóa hoặc tệp bị hỏng) — hãy tải lại mẫu", where=f"{title}!B{first_row}"))


def _rows(wb, name: str, limits: Limits) -> list[list]:
    try:
        sheet = wb.get_sheet_by_name(name)
        end = sheet.end
        if end is not None:
            cells = (end[0] + 1) * (end[1] + 1)
            if cells > limits.max_cells:
                raise WorkbookRefused(f"Trang “{name}” có {cells:,} ô, vượt giới hạn {limits.max_cells:,} ô".replace(",", "."))
        return sheet.to_python(skip_empty_area=False)
    except WorkbookRefused:
        raise
    except Exception as exc:  # calamine parses a sheet only when it is read: malformed XML, entities (refused)…
        import logging

        logging.getLogger(__name__).info("sheet %s refused: %s", name, str(exc)[:300])
        why = ("có khai báo thực thể XML (DTD, entity) — không được phép" if re.search(r"entit|dtd", str(exc), re.I)
               else "nội dung hỏng hoặc có thành phần không được phép")
        raise WorkbookRefused(f"Trang “{name}” không đọc được ({why}) — hãy tải lại mẫu và nhập lại") from None


def _at(rows: list[list], r: int, c: int):
    if r < 0 or r >= len(rows):
        return ""
    row = rows[r]
    return row[c] if c < len(row) else ""


def _blank(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _col_index(letter: str) -> int:
    n = 0
    for ch in letter:
        n = n * 26 + (ord(ch.upper()) - 64)
    return n - 1


def _letter(index: int) -> str:
    return get_column_letter(index + 1)
