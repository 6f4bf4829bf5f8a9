"""Reading a reporting form a ministry already publishes — an Excel sheet or a Word table headed
"Biểu số 01", rows numbered I, 1, 1.1, a), "-", "Trong đó", columns "Chỉ tiêu", "Đơn vị tính",
"Mã số", "Thực hiện kỳ báo cáo", "Lũy kế", "So sánh (%)" — into a proposed baocao form: rows with
their hierarchy, units, codes, "of which" rows, subtotals; columns mapped to the value, the system
columns baocao computes itself, and breakdowns (Nam / Nữ); each row matched to the indicator
library or proposed as a new indicator. Pure Python: the file adapters give it plain tables.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .form_match import MATCH_AT, LibraryIndicator, Match, fold, library_from, match_library  # noqa: F401 — part of this module's API

# ------------------------------------------------------------------------------------ the input


@dataclass
class SourceTable:
    """A table as a file holds it: every row's cells as text (a merged cell's text in each cell it
    covers), the indent of the label cell where the file records one, the lines above the table
    (caption: "Biểu số 01", the title, "Đơn vị tính: …") and the name of where it was found."""

    name: str
    rows: list[list[str]]
    indents: list[int] = field(default_factory=list)
    caption: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------- columns
# (role, folded keywords): the first role whose keyword is in a column's header text wins
COLUMN_ROLES = [
    ("numbering", ("stt", "so tt", "so thu tu", "tt")),
    ("code", ("ma so", "ma chi tieu", "ma")),
    ("unit", ("don vi tinh", "dvt", "don vi")),
    ("pct_plan", ("so voi ke hoach", "so ke hoach", "% ke hoach", "so voi du toan", "so du toan")),
    ("pct_same_period_last_year", ("so voi cung ky", "so cung ky", "so sanh", "%")),
    ("pct_previous", ("so voi ky truoc", "so ky truoc")),
    ("plan", ("ke hoach", "du toan")),
    ("same_period_last_year", ("cung ky nam truoc", "cung ky")),
    ("previous", ("ky truoc", "thang truoc", "quy truoc")),
    ("cumulative", ("luy ke", "cong don", "tu dau nam")),
    ("estimate", ("uoc thuc hien", "uoc tinh", "uoc")),
    ("note", ("ghi chu",)),
    ("label", ("chi tieu", "noi dung", "danh muc", "ten")),
    ("value", ("thuc hien", "ky bao cao", "so lieu", "gia tri", "tong so", "so luong", "ket qua")),
]
SYSTEM_ROLES = ("previous", "same_period_last_year", "cumulative", "pct_previous", "pct_same_period_last_year", "plan", "pct_plan")
LABEL_WORDS = ("chi tieu", "noi dung", "danh muc", "ten chi tieu")


@dataclass
class Column:
    index: int
    header: str  # the header text as read (group and sub-header joined by " / ")
    role: str  # label | numbering | unit | code | value | estimate | a system column | note | breakdown | ignored
    option: str = ""  # for a breakdown column: the disaggregation option's code


def _has(text: str, word: str) -> bool:
    return re.search(rf"(?:^| ){re.escape(word)}(?: |$)", text) is not None if word != "%" else "%" in text


def column_role(header: str) -> str:
    f = fold(header) + (" %" if "%" in (header or "") else "")
    if not f.strip():
        return "ignored"
    for role, words in COLUMN_ROLES:
        if any(_has(f, w) for w in words):
            return role
    return "ignored"


# ------------------------------------------------------------------------------------ numbering
ROMAN = re.compile(r"^(?=[IVXLC]+$)M{0,3}(C[MD]|D?C{0,3})(X[CL]|L?X{0,3})(I[XV]|V?I{0,3})$")
NUMBERING_IN_LABEL = re.compile(r"^\s*((?:[IVXLC]+|[A-Z]|\d+(?:\.\d+)*|[a-zđ])[.)]|\d+(?:\.\d+)+|[-–—+•*](?=\s))\s*(.*)$", re.S)


def numbering_style(token: str) -> tuple:
    """I → roman; A → letter; 1 → arabic; 1.2 → (dotted, 2); a / a) → lower; - + • → dash; * → star."""
    t = token.strip().rstrip(".)").strip()
    if not t:
        return ("none",)
    if t in ("-", "–", "—", "+", "•"):
        return ("dash", t.replace("–", "-").replace("—", "-"))
    if t == "*":
        return ("star",)
    if re.fullmatch(r"\d+(\.\d+)+", t):
        return ("dotted", t.count(".") + 1)
    if t.isdigit():
        return ("arabic",)
    if ROMAN.match(t) and t not in ("C", "D", "L") or t in ("I", "V", "X"):
        return ("roman",)
    if re.fullmatch(r"[A-Z]", t):
        return ("upper",)
    if re.fullmatch(r"[a-zđ]", t):
        return ("lower",)
    return ("other",)


def split_label(label: str) -> tuple[str, str]:
    """("1.", "Lương thực") from "1. Lương thực"; ("", label) when it carries no numbering."""
    m = NUMBERING_IN_LABEL.match(label or "")
    if m and m.group(2).strip():
        return m.group(1).strip(), m.group(2).strip()
    return "", (label or "").strip()


OF_WHICH = re.compile(r"^\s*trong\s+đó\s*[:,]?\s*", re.I)
UNIT_IN_LABEL = re.compile(r"\s*\(([^()]{1,30})\)\s*$")
KNOWN_UNITS = {"%", "người", "hồ sơ", "triệu đồng", "tỷ đồng", "nghìn đồng", "đồng", "tấn", "ha", "km", "cái", "chiếc", "lượt",
               "doanh nghiệp", "cơ sở", "hộ", "lượt người", "vụ", "đơn vị", "xã", "m2", "m3", "kg", "lít", "con", "bộ", "văn bản"}
SUBTOTAL = ("tong", "tong so", "cong", "tong cong")
NOTES = ("ghi chu", "nguoi lap", "thu truong", "noi nhan", "luu y", "nguon", "chu thich", "giai thich")


def parse_number(text: str) -> Decimal | None:
    """1.234,5 (Vietnamese) or 1,234.5 or 1234 → Decimal; None when it is not a number."""
    t = (text or "").strip().replace(" ", "").replace("\u00a0", "")
    if not t or not re.fullmatch(r"[-+]?[\d.,]+%?", t):
        return None
    t = t.rstrip("%")
    if "," in t and "." in t:
        t = t.replace(".", "").replace(",", ".") if t.rfind(",") > t.rfind(".") else t.replace(",", "")
    elif "," in t:
        t = t.replace(",", ".") if len(t.split(",")[-1]) != 3 else t.replace(",", "")
    elif t.count(".") > 1 or (t.count(".") == 1 and len(t.split(".")[-1]) == 3):
        t = t.replace(".", "")
    try:
        return Decimal(t)
    except InvalidOperation:
        return None


# ------------------------------------------------------------------------------------- proposal
@dataclass
class ProposedRow:
    line: int  # the row in the source table (1-based)
    numbering: str
    label: str
    unit: str
    code: str  # the form's own "Mã số", when it has one
    parent: int | None = None  # index of the parent in `rows`
    of_which: bool = False
    subtotal: bool = False  # the sum of its rows below (computed by baocao)
    sample: Decimal | None = None
    samples: dict[str, Decimal] = field(default_factory=dict)  # breakdown option → sample value
    matches: list[Match] = field(default_factory=list)
    indicator: str = ""  # the library indicator chosen, or the new indicator's code
    new: bool = True
    depth: int = 0


@dataclass
class Proposal:
    table: SourceTable
    form_code: str
    title: str
    columns: list[Column]
    rows: list[ProposedRow]
    system_columns: list[str]
    breakdown: str = ""  # a library disaggregation recognised in the columns (e.g. GIOI_TINH)
    default_unit: str = ""
    warnings: list[str] = field(default_factory=list)
    header_rows: int = 0
    first_body: int = 0  # index in table.rows


MAX_FORM_ROWS = 500  # rows × the library is the work of matching: bounded


class FormNotRecognised(ValueError):
    """Not a form baocao can read: no header with "Chỉ tiêu", no rows, only images …"""


def _header_span(rows: list[list[str]]) -> tuple[int, int]:
    """(first header row, first body row): the header starts at the first row naming the label
    column and runs on while rows look like headers (words, no numbering, or the column-number row
    "A B 1 2 3")."""
    start = None
    for i, row in enumerate(rows[:40]):
        if any(any(_has(fold(c), w) for w in LABEL_WORDS) for c in row):
            start = i
            break
    if start is None:
        raise FormNotRecognised("Không thấy dòng tiêu đề của bảng (cột “Chỉ tiêu” hoặc “Nội dung”)")
    end = start + 1
    while end < len(rows) and end - start < 4:
        cells = [c.strip() for c in rows[end] if c.strip()]
        if not cells:
            end += 1
            continue
        if _column_number_row(cells):
            end += 1
            break
        if all(not parse_number(c) and not split_label(c)[0] and len(c) < 40 for c in cells) and any(
                column_role(c) != "ignored" or fold(c) in ("nam", "nu", "thanh thi", "nong thon") for c in cells):
            end += 1
            continue
        break
    return start, end


def _column_number_row(cells: list[str]) -> bool:
    """A row of column numbers under the header: "A", "B", "C", "1", "2", "(1)", "(2)=(3)+(4)"."""
    return len(cells) >= 3 and all(re.fullmatch(r"\(?[A-Z0-9]{1,2}\)?(?:\s*=.*)?", c) for c in cells)


def _columns(header: list[list[str]], width: int, disaggregations: dict[str, dict[str, str]]) -> tuple[list[Column], str]:
    cols = []
    breakdown = ""
    for j in range(width):
        parts = []
        for row in header:
            text = row[j].strip() if j < len(row) else ""
            if text and (not parts or parts[-1] != text) and not _column_number_row([text, text, text]):
                parts.append(text)
        head = " / ".join(parts)
        role = column_role(parts[0]) if parts else "ignored"
        sub = fold(parts[-1]) if parts else ""
        option = ""
        for dcode, options in disaggregations.items():
            for ocode, oname in options.items():
                if sub == fold(oname):
                    option, breakdown = ocode, dcode
        if option:
            role = "breakdown"
        elif role in ("ignored", "value") and len(parts) > 1:
            role = column_role(parts[-1]) if column_role(parts[-1]) != "ignored" else role
        cols.append(Column(j, head, role, option))
    if not any(c.role == "label" for c in cols):
        raise FormNotRecognised("Không xác định được cột tên chỉ tiêu")
    if not any(c.role in ("value", "estimate", "breakdown") for c in cols):
        label = next(c for c in cols if c.role == "label")
        after = [c for c in cols if c.index > label.index and c.role == "ignored"]
        if after:  # an unnamed column after the label and unit: the figure of the period
            after[0].role = "value"
    return cols, breakdown


def _is_note(cells: list[str]) -> bool:
    first = next((c for c in cells if c.strip()), "")
    f = fold(first)
    return any(f.startswith(n) for n in NOTES) or first.strip().startswith(("(*)", "(1) ", "*)", "Ghi chú"))


def propose(table: SourceTable, library: list[LibraryIndicator], disaggregations: dict[str, dict[str, str]],
            *, prefix: str = "CT", taken: set[str] | None = None) -> Proposal:
    """The proposed form for one table (nothing is saved)."""
    rows = [[(c or "").strip() for c in r] for r in table.rows]
    width = max((len(r) for r in rows), default=0)
    rows = [r + [""] * (width - len(r)) for r in rows]
    start, body = _header_span(rows)
    columns, breakdown = _columns(rows[start:body], width, disaggregations)
    role = {c.role: c.index for c in reversed(columns)}
    label_at, num_at, unit_at, code_at = role["label"], role.get("numbering"), role.get("unit"), role.get("code")
    value_at = role.get("value", role.get("estimate"))
    caption = [c for c in table.caption if c.strip()]
    default_unit = ""
    for line in caption + [c for r in rows[:start] for c in r]:
        m = re.search(r"đơn vị tính\s*:\s*([^;,)]+)", line, re.I)
        if m:
            default_unit = m.group(1).strip().rstrip(".")
    out: list[ProposedRow] = []
    warnings: list[str] = []
    notes_seen = False
    heading_style = None
    of_which_heading = None  # a "Trong đó:" line: the rows under it are "of which" rows of the row above it
    for i in range(body, len(rows)):
        cells = rows[i]
        if not any(cells):
            continue
        if _is_note(cells) or notes_seen:
            notes_seen = True
            continue
        raw = cells[label_at]
        number = cells[num_at] if num_at is not None else ""
        if not raw and not number:
            continue
        if not number:
            number, raw = split_label(raw)
        if _column_number_row([c for c in cells if c]):
            continue
        if OF_WHICH.match(raw) and not OF_WHICH.sub("", raw).strip():
            of_which_heading, heading_style = (len(out) - 1 if out else None), None
            continue
        label = raw
        of_which = False
        if OF_WHICH.match(label):
            label, of_which = OF_WHICH.sub("", label).strip(), True
        unit = cells[unit_at] if unit_at is not None else ""
        m = UNIT_IN_LABEL.search(label)
        if m and (m.group(1).strip().lower() in KNOWN_UNITS or not unit):
            if m.group(1).strip().lower() in KNOWN_UNITS:
                unit = unit or m.group(1).strip()
                label = label[:m.start()].strip()
        samples = {c.option: v for c in columns if c.role == "breakdown" and (v := parse_number(cells[c.index])) is not None}
        sample = parse_number(cells[value_at]) if value_at is not None else None
        if sample is None and samples:
            sample = sum(samples.values())
        row = ProposedRow(i + 1, number, label, unit, cells[code_at] if code_at is not None else "", of_which=of_which,
                          sample=sample, samples=samples)
        style = numbering_style(number)[0]
        if of_which_heading is not None and heading_style in (None, style) and style != _style_of(out, of_which_heading):
            heading_style = style  # the rows under "Trong đó:" run on while their numbering looks alike
            row.of_which = True
            row.parent = of_which_heading
        else:
            of_which_heading = heading_style = None
        out.append(row)
    if not out:
        raise FormNotRecognised("Bảng không có dòng chỉ tiêu nào dưới dòng tiêu đề")
    if len(out) > MAX_FORM_ROWS:
        raise FormNotRecognised(f"Bảng có {len(out)} dòng chỉ tiêu — quá {MAX_FORM_ROWS} dòng cho một biểu mẫu; hãy tách thành nhiều biểu")
    indents = table.indents + [0] * (len(rows) - len(table.indents))
    _hierarchy(out, [indents[r.line - 1] for r in out])
    _subtotals(out, warnings)
    _units(out, default_unit)
    _match(out, library)
    _codes(out, prefix, taken or set())
    code = "BIEU01"
    for line in caption + [c for r in rows[:start] for c in r]:
        m = re.search(r"biểu\s*(?:số|mẫu)?\s*:?\s*([0-9]+[A-Za-z]?(?:[./-][A-Za-z0-9]+)*)", line, re.I)
        if m:
            code = "BIEU" + re.sub(r"[^A-Z0-9]", "", m.group(1).upper())[:20]
            break
    title = next((c for c in caption if not re.match(r"^\s*biểu", c, re.I) and not re.search(r"đơn vị tính", c, re.I)
                  and len(c) > 8), table.name)
    system = [c.role for c in columns if c.role in SYSTEM_ROLES]
    if any(c.role == "estimate" for c in columns) and any(c.role == "value" for c in columns):
        warnings.append("Cột “Ước thực hiện”: baocao nhận số ước tính ở chính ô số liệu, đánh dấu “Ước tính” từng dòng")
    return Proposal(table, code, title.strip(), columns, out, list(dict.fromkeys(system)), breakdown, default_unit, warnings,
                    body - start, body)


def _style_of(rows: list[ProposedRow], i: int) -> str:
    return numbering_style(rows[i].numbering)[0]


def _hierarchy(rows: list[ProposedRow], indents: list[int]) -> None:
    """Parents from the numbering — a style not yet on the path from the top opens a level below the
    row above; a style already on the path is a sibling of the row that has it (I … 1 … a … II);
    1.2 goes under 1 — and, for rows without numbering, from the indent (deeper: under the row
    above; the same: its sibling; shallower: a sibling of the ancestor at that indent)."""
    styles: list[tuple] = []
    by_number: dict[str, int] = {}
    path: list[int] = []  # from the top to the row above

    def chain(i: int | None) -> list[int]:
        out = []
        while i is not None:
            out.append(i)
            i = rows[i].parent
        return out[::-1]

    for i, row in enumerate(rows):
        style = numbering_style(row.numbering)
        t = row.numbering.strip().rstrip(".)")
        styles.append(style if style[0] != "none" else ("none", indents[i]))
        if row.parent is None:
            if style[0] == "dotted" and t.rsplit(".", 1)[0] in by_number:
                row.parent = by_number[t.rsplit(".", 1)[0]]
            elif row.of_which and style[0] == "none" and i > 0:  # "Trong đó: …" on its own: under the row above
                row.parent = i - 1 if not rows[i - 1].of_which else rows[i - 1].parent
            elif style[0] == "none":
                if i == 0:
                    row.parent = None
                elif indents[i] > indents[i - 1]:
                    row.parent = i - 1
                else:
                    k: int | None = i - 1
                    while k is not None and indents[k] > indents[i]:
                        k = rows[k].parent
                    row.parent = rows[k].parent if k is not None else None
            else:
                same = [k for k in path if styles[k] == style]
                row.parent = rows[same[-1]].parent if same else (path[-1] if path else None)
        row.depth = 0 if row.parent is None else rows[row.parent].depth + 1
        path = chain(i)
        if t and style[0] in ("arabic", "dotted"):
            by_number[t] = i
    # "Cộng" / "Tổng cộng" after its rows: the total of the rows before it at the top
    for i, row in enumerate(rows):
        if fold(row.label) in SUBTOTAL and i > 0 and not row.numbering and row.parent is None \
                and fold(rows[0].label) not in SUBTOTAL:
            for r in rows[:i]:
                if r.parent is None:
                    r.parent = i
                    _deepen(rows, r)
            row.subtotal = True


def _deepen(rows: list[ProposedRow], row: ProposedRow) -> None:
    row.depth += 1
    for r in rows:
        if r.parent is not None and rows[r.parent] is row:
            _deepen(rows, r)


def children_of(rows: list[ProposedRow], i: int) -> list[int]:
    return [j for j, r in enumerate(rows) if r.parent == i]


def _subtotals(rows: list[ProposedRow], warnings: list[str]) -> None:
    """A parent is the sum of its rows below when its label says so (Tổng, Cộng) or its sample
    figure equals their sum; when the figures say otherwise, its rows below are "of which" rows."""
    for i, row in enumerate(rows):
        kids = [j for j in children_of(rows, i) if not rows[j].of_which]
        if not kids:
            continue
        values = [rows[j].sample for j in kids]
        if row.sample is not None and all(v is not None for v in values):
            total = sum(values)
            if abs(total - row.sample) <= max(abs(row.sample) * Decimal("0.005"), Decimal("0.5")):
                row.subtotal = True
            else:
                for j in kids:
                    rows[j].of_which = True
                warnings.append(f"Dòng {row.numbering or row.line} “{row.label}”: số mẫu {row.sample} khác tổng các dòng dưới "
                                f"({total}) — các dòng dưới được coi là “trong đó”")
        else:
            row.subtotal = True  # no figures to tell: a parent adds up its rows, as in most forms
        if fold(row.label) in SUBTOTAL or fold(row.label).startswith(("tong so", "tong cong")):
            row.subtotal = True


def _units(rows: list[ProposedRow], default: str) -> None:
    for row in rows:
        if not row.unit:
            row.unit = rows[row.parent].unit if row.parent is not None and rows[row.parent].unit else default


def _match(rows: list[ProposedRow], library: list[LibraryIndicator]) -> None:
    for row in rows:
        parent = rows[row.parent] if row.parent is not None else None
        row.matches = match_library(row.label, row.unit, parent.label if parent else "",
                                    parent.indicator if parent and not parent.new else "", library)
        if row.matches and row.matches[0].confidence >= MATCH_AT:
            row.indicator, row.new = row.matches[0].code, False


def _codes(rows: list[ProposedRow], prefix: str, taken: set[str]) -> None:
    used = set(taken) | {r.indicator for r in rows if not r.new}
    n = 0
    for row in rows:
        if not row.new:
            continue
        own = re.sub(r"[^A-Z0-9_]", "_", fold(row.code).upper()) if row.code else ""
        candidate = f"{prefix}_{own}" if own else ""
        while not candidate or candidate in used:
            n += 1
            candidate = f"{prefix}_{n:03d}"
        used.add(candidate)
        row.indicator = candidate


def form_document(p: Proposal) -> tuple[dict, list[dict]]:
    """The catalogue documents: the form, and the new indicators it needs."""
    codes = [r.indicator for r in p.rows]
    form_rows = []
    for r in p.rows:
        doc = {"indicator": r.indicator, "row": r.numbering or ""}
        if r.parent is not None:
            doc["parent"] = codes[r.parent]
        if r.of_which:
            doc["of_which"] = True
        form_rows.append(doc)
    form = {"code": p.form_code, "title": p.title, "columns": ["current", *p.system_columns], "rows": form_rows}
    if p.breakdown:
        form["disaggregations"] = [p.breakdown]
    new = []
    for r in p.rows:
        if not r.new:
            continue
        pct = r.unit.strip() == "%"
        doc = {"code": r.indicator, "name_vi": r.label, "unit": r.unit or "đơn vị",
               "value_type": "percent" if pct else "number", "aggregation": "average" if pct else "sum", "min": 0}
        if pct:
            doc["max"] = 100
        if p.breakdown:
            doc["disaggregations"] = [p.breakdown]
        new.append(doc)
    return form, new

