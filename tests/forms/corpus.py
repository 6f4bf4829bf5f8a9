"""A corpus of reporting forms in the shapes ministries publish, each with its expected structure.

Every form is a `Form`: the rows as a person reads them (numbering, name, unit, code, sample value,
the row it belongs under, "of which", the library indicator it is) and how the file lays them out
(Excel or Word; numbering in its own column or in the name; units in a column, in the name or in the
caption; merged multi-row headers; Nam / Nữ columns; a column-number row; indentation instead of
numbering; "Trong đó:" headings; "Cộng" at the end; notes under the table; empty rows; several
tables in one file). `build(form)` writes the file; the importer never sees the spec. Two forms come
from ../shared/data/regime-*.csv; the others are our own, modelled on circulars' annexes.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

SHARED = Path(__file__).resolve().parent / "data"  # copies of ../shared/data/regime-*.csv (the suite runs without ../shared)


@dataclass
class Row:
    numbering: str
    label: str
    unit: str
    parent: int | None = None  # index of the expected parent row
    of_which: bool = False
    match: str = ""  # the library indicator it is ("" = a new indicator)
    value: Decimal | None = None
    code: str = ""
    indent: int = 0
    nam: Decimal | None = None


@dataclass
class Form:
    name: str
    kind: str  # xlsx | docx
    caption: list[str]
    rows: list[Row]
    numbering_column: bool = True
    unit_column: bool = True
    unit_in_label: bool = False
    code_column: bool = False
    value_headers: list[str] = field(default_factory=lambda: ["Thực hiện kỳ báo cáo"])
    nam_nu: bool = False  # a "Thực hiện kỳ báo cáo" group over Tổng số / Nam / Nữ
    column_numbers: bool = False
    notes: list[str] = field(default_factory=list)
    empty_rows_after: list[int] = field(default_factory=list)
    indent_only: bool = False  # no numbering: the hierarchy is in the indentation
    of_which_heading_before: list[int] = field(default_factory=list)  # a "Trong đó:" line before these rows
    tables_before: int = 0  # other tables before this one (the designer picks this one)
    system_columns: list[str] = field(default_factory=list)  # expected: the columns baocao computes


def _d(v) -> Decimal:
    return Decimal(str(v))


def retail(kind: str, numbering_column: bool) -> Form:
    """Tổng mức bán lẻ (BCT-BANLE), from ../shared/data/regime-retail-sales.csv."""
    text = (SHARED / "regime-retail-sales.csv").read_text(encoding="utf-8")
    rows: list[Row] = []
    index: dict[str, int] = {}
    codes = ["BL_TONG", "BL_HH"] + [f"BL_HH_{i:02d}" for i in range(1, 8)] + ["BL_HH_07_XD"] + [f"BL_HH_{i:02d}" for i in range(8, 13)] \
        + ["BL_DV"] + [f"BL_DV_{i:02d}" for i in range(1, 8)] + ["BL_LT", "BL_LT_01", "BL_LT_02", "BL_LT_03"]
    for n, rec in enumerate(csv.DictReader(io.StringIO(text))):
        parent = index.get(rec["in_sum_of"]) if rec["in_sum_of"] else None
        of_which = rec["row"] == "-"
        if of_which:
            parent = len(rows) - 1
        label = rec["indicator"]
        rows.append(Row(rec["row"], label, rec["unit"], parent, of_which, codes[n]))
        if rec["row"] in ("A", "I", "II", "III"):
            index[rec["row"]] = len(rows) - 1
    _values(rows)
    return Form(f"retail-{kind}", kind, ["Biểu số 01", "TỔNG MỨC BÁN LẺ HÀNG HÓA VÀ DOANH THU DỊCH VỤ TIÊU DÙNG", "Kỳ báo cáo: tháng"], rows,
                numbering_column=numbering_column,
                value_headers=["Thực hiện kỳ báo cáo", "Ước thực hiện", "Lũy kế từ đầu năm", "So sánh cùng kỳ (%)"],
                system_columns=["cumulative", "pct_same_period_last_year"])


def admin_procedures() -> Form:
    """Tình hình giải quyết TTHC (VPCP-TTHC), from ../shared/data/regime-admin-procedures.csv."""
    text = (SHARED / "regime-admin-procedures.csv").read_text(encoding="utf-8")
    match = {("Số hồ sơ nhận giải quyết", "Tổng số"): "TTHC_NHAN_TONG", ("Số hồ sơ đã giải quyết", "Tổng số"): "TTHC_DAGQ_TONG",
             ("Số hồ sơ đang giải quyết", "Tổng số"): "TTHC_DANGGQ_TONG"}
    sub = {"Trong kỳ: tiếp nhận trực tuyến": "TTHC_NHAN_TRUCTUYEN", "Trong kỳ: tiếp nhận trực tiếp hoặc qua bưu chính": "TTHC_NHAN_TRUCTIEP",
           "Từ kỳ trước chuyển qua": "TTHC_NHAN_KYTRUOC", "Trước hạn": "TTHC_DAGQ_TRUOCHAN", "Đúng hạn": "TTHC_DAGQ_DUNGHAN",
           "Trong hạn": "TTHC_DANGGQ_TRONGHAN", "Tỷ lệ giải quyết đúng và trước hạn": "TTHC_TYLE_DUNGHAN"}
    rows: list[Row] = []
    group_no = 0
    parent = None
    k = 0
    for rec in csv.DictReader(io.StringIO(text)):
        if rec["column"] == "Tổng số" or rec["column_group"] == "Tỷ lệ":
            group_no += 1
            k = 0
            name = rec["column_group"] if rec["column_group"] != "Tỷ lệ" else rec["column"]
            rows.append(Row(str(group_no), name, rec["unit"], None, False, match.get((rec["column_group"], rec["column"]), sub.get(rec["column"], ""))))
            parent = len(rows) - 1
            continue
        k += 1
        label = rec["column"]
        code = sub.get(label, "")
        if label == "Quá hạn":
            code = "TTHC_DAGQ_QUAHAN" if rec["column_group"] == "Số hồ sơ đã giải quyết" else "TTHC_DANGGQ_QUAHAN"
            label = "Đã giải quyết quá hạn" if code == "TTHC_DAGQ_QUAHAN" else "Đang giải quyết quá hạn"
        elif label in ("Trước hạn", "Đúng hạn"):
            label = f"Đã giải quyết {label.lower()}"
        elif label == "Trong hạn":
            label = "Đang giải quyết trong hạn"
        rows.append(Row(f"{group_no}.{k}", label, rec["unit"], parent, False, code))
    _values(rows)
    rows[-1].value = Decimal("92.5")
    return Form("admin-procedures-docx", "docx", ["Biểu số 01", "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"], rows,
                value_headers=["Kỳ báo cáo", "Kỳ trước"], system_columns=["previous"])


def _values(rows: list[Row]) -> None:
    """Sample figures that add up: leaves 10, 20, 30 …; parents the sum of their rows; of-which a part."""
    for i in reversed(range(len(rows))):
        kids = [r for r in rows if r.parent is not None and rows[r.parent] is rows[i] and not r.of_which]
        if kids:
            rows[i].value = sum((k.value or Decimal(0)) for k in kids)
        elif rows[i].value is None:
            rows[i].value = Decimal(10 * (i + 1))
    for r in rows:
        if r.of_which and r.parent is not None:
            r.value = (rows[r.parent].value / 4).quantize(Decimal(1))


def forms() -> list[Form]:
    out = [retail("xlsx", True), retail("docx", False), admin_procedures()]

    # vaccination, Excel: merged two-row header with Tổng số / Nam / Nữ under "Thực hiện kỳ báo cáo"
    rows = [Row("I", "Tiêm chủng mở rộng cho trẻ em", "trẻ"),
            Row("1", "Số trẻ dưới 1 tuổi được tiêm chủng đầy đủ", "trẻ", 0),
            Row("2", "Số trẻ 18 tháng tuổi được tiêm vắc xin sởi - rubella", "trẻ", 0),
            Row("3", "Số trẻ sơ sinh được tiêm vắc xin viêm gan B trong 24 giờ đầu", "trẻ", 0),
            Row("II", "Tiêm chủng cho phụ nữ có thai", "người"),
            Row("1", "Số phụ nữ có thai được tiêm vắc xin uốn ván 2 mũi trở lên", "người", 4),
            Row("2", "Số phụ nữ có thai được khám thai đủ 4 lần", "người", 4)]
    _values(rows)
    for r in rows:
        r.nam = (r.value / 2).quantize(Decimal(1))
    out.append(Form("vaccination-xlsx", "xlsx", ["Biểu số 02/YT", "KẾT QUẢ TIÊM CHỦNG", "Đơn vị tính: trẻ"], rows, nam_nu=True,
                    value_headers=["Thực hiện kỳ báo cáo"]))

    # schools, Excel: no numbering at all — the hierarchy is in the indentation
    rows = [Row("", "Tổng số trường học", "trường"),
            Row("", "Trường mầm non", "trường", 0, indent=1),
            Row("", "Trường tiểu học", "trường", 0, indent=1),
            Row("", "Trường trung học cơ sở", "trường", 0, indent=1),
            Row("", "Trường trung học phổ thông", "trường", 0, indent=1),
            Row("", "Tổng số học sinh", "học sinh"),
            Row("", "Học sinh tiểu học", "học sinh", 5, indent=1),
            Row("", "Học sinh dân tộc thiểu số", "học sinh", 6, indent=2),
            Row("", "Học sinh trung học cơ sở", "học sinh", 5, indent=1)]
    _values(rows)
    rows[7].value = Decimal(5)  # a part of its parent, not its whole
    rows[6].value = Decimal(70)
    rows[5].value = rows[6].value + rows[8].value
    rows[7].of_which = True
    out.append(Form("schools-indent-xlsx", "xlsx", ["Biểu số 03", "SỐ TRƯỜNG, LỚP, HỌC SINH"], rows, numbering_column=False,
                    indent_only=True))

    # agriculture, Word: letters a) b), a "Trong đó:" heading with dash rows under it
    rows = [Row("1", "Diện tích gieo trồng cây hằng năm", "ha"),
            Row("a)", "Cây lúa", "ha", 0),
            Row("-", "Lúa chất lượng cao", "ha", 1, True),
            Row("-", "Lúa hữu cơ", "ha", 1, True),
            Row("b)", "Cây ngô", "ha", 0),
            Row("c)", "Cây rau, đậu các loại", "ha", 0),
            Row("2", "Sản lượng lương thực có hạt", "tấn"),
            Row("a)", "Sản lượng lúa", "tấn", 6),
            Row("b)", "Sản lượng ngô", "tấn", 6)]
    _values(rows)
    out.append(Form("agriculture-docx", "docx", ["Biểu số 04/NN", "DIỆN TÍCH, SẢN LƯỢNG CÂY TRỒNG"], rows, of_which_heading_before=[2],
                    value_headers=["Thực hiện", "Cùng kỳ năm trước", "So sánh (%)"],
                    system_columns=["same_period_last_year", "pct_same_period_last_year"]))

    # budget, Excel: "Cộng" at the end is the total of the rows above, codes in a "Mã số" column
    rows = [Row("1", "Thu nội địa", "triệu đồng", 5, code="01"),
            Row("2", "Thu từ dầu thô", "triệu đồng", 5, code="02"),
            Row("3", "Thu cân đối từ hoạt động xuất nhập khẩu", "triệu đồng", 5, code="03"),
            Row("4", "Thu viện trợ", "triệu đồng", 5, code="04"),
            Row("5", "Thu huy động đóng góp", "triệu đồng", 5, code="05"),
            Row("", "Cộng", "triệu đồng", None, code="10")]
    for i, r in enumerate(rows[:5]):
        r.value = Decimal(1000 * (i + 1))
    rows[5].value = sum(r.value for r in rows[:5])
    out.append(Form("budget-total-last-xlsx", "xlsx", ["Biểu số 05/TC", "THU NGÂN SÁCH NHÀ NƯỚC TRÊN ĐỊA BÀN"], rows, code_column=True,
                    value_headers=["Dự toán năm", "Thực hiện kỳ báo cáo", "So với dự toán (%)"], system_columns=["plan", "pct_plan"]))

    # labour, Excel: the parent's figure is not the sum of its rows — they are "of which" rows
    rows = [Row("1", "Số lao động có việc làm", "người"),
            Row("1.1", "Lao động nữ", "người", 0, True),
            Row("1.2", "Lao động qua đào tạo", "người", 0, True),
            Row("2", "Số người được giải quyết việc làm mới", "người"),
            Row("3", "Số người được hưởng trợ cấp thất nghiệp", "người")]
    rows[0].value, rows[1].value, rows[2].value = Decimal(5000), Decimal(2400), Decimal(3100)
    rows[3].value, rows[4].value = Decimal(800), Decimal(120)
    out.append(Form("labour-ofwhich-xlsx", "xlsx", ["Biểu số 06/LĐTBXH", "LAO ĐỘNG, VIỆC LÀM"], rows))

    # two tables in one Word file: the second is the form wanted
    rows = [Row("1", "Số vụ tai nạn giao thông", "vụ"),
            Row("1.1", "Đường bộ", "vụ", 0),
            Row("1.2", "Đường sắt", "vụ", 0),
            Row("1.3", "Đường thủy nội địa", "vụ", 0),
            Row("2", "Số người chết do tai nạn giao thông", "người"),
            Row("3", "Số người bị thương do tai nạn giao thông", "người")]
    _values(rows)
    out.append(Form("traffic-second-table-docx", "docx", ["Biểu số 02", "TAI NẠN GIAO THÔNG"], rows, tables_before=1))

    # trade, Excel: a column-number row, empty rows, notes under the table
    rows = [Row("A", "Xuất khẩu hàng hóa", "triệu USD"),
            Row("1", "Hàng nông sản", "triệu USD", 0),
            Row("2", "Hàng thủy sản", "triệu USD", 0),
            Row("3", "Hàng công nghiệp chế biến", "triệu USD", 0),
            Row("B", "Nhập khẩu hàng hóa", "triệu USD"),
            Row("1", "Máy móc, thiết bị", "triệu USD", 4),
            Row("2", "Nguyên liệu, vật liệu", "triệu USD", 4)]
    _values(rows)
    out.append(Form("trade-notes-xlsx", "xlsx", ["Biểu số 07/CT", "XUẤT NHẬP KHẨU HÀNG HÓA"], rows, column_numbers=True,
                    empty_rows_after=[3], notes=["Ghi chú: Số liệu sơ bộ, sẽ cập nhật khi có số chính thức.",
                                                 "Người lập biểu", "Thủ trưởng đơn vị"],
                    value_headers=["Thực hiện kỳ báo cáo", "Kỳ trước"], system_columns=["previous"]))

    # civil servants (BNV-CBCC), Word: the library's indicators, Nam / Nữ columns
    rows = [Row("1", "Số lượng công chức", "người", match="CBCC_CONGCHUC"),
            Row("2", "Số lượng viên chức", "người", match="CBCC_VIENCHUC"),
            Row("3", "Số lượng cán bộ, công chức cấp xã", "người", match="CBCC_CAPXA"),
            Row("4", "Số cán bộ, công chức, viên chức là người dân tộc thiểu số", "người", match="CBCC_DTTS")]
    _values(rows)
    for r in rows:
        r.nam = (r.value / 2).quantize(Decimal(1))
    out.append(Form("civil-servants-docx", "docx", ["Biểu số 01/BNV", "SỐ LƯỢNG CÁN BỘ, CÔNG CHỨC, VIÊN CHỨC"], rows, nam_nu=True))

    # transport, Word: 1 / 1.1 / 1.1.1, units in the names, no unit column
    rows = [Row("1", "Vận chuyển hành khách", "lượt người"),
            Row("1.1", "Đường bộ", "lượt người", 0),
            Row("1.1.1", "Xe buýt", "lượt người", 1),
            Row("1.1.2", "Xe khách liên tỉnh", "lượt người", 1),
            Row("1.2", "Đường thủy", "lượt người", 0),
            Row("2", "Vận chuyển hàng hóa", "tấn"),
            Row("2.1", "Đường bộ", "tấn", 5),
            Row("2.2", "Đường sắt", "tấn", 5)]
    _values(rows)
    out.append(Form("transport-dotted-docx", "docx", ["Biểu số 08/GTVT", "VẬN TẢI HÀNH KHÁCH, HÀNG HÓA"], rows, unit_column=False,
                    unit_in_label=True))

    # environment, Word: Roman, arabic, dash; a percentage row; the unit of the whole table in the caption
    rows = [Row("I", "Thu gom, xử lý chất thải rắn sinh hoạt", "tấn/ngày"),
            Row("1", "Khối lượng phát sinh", "tấn/ngày", 0),
            Row("2", "Khối lượng được thu gom", "tấn/ngày", 0),
            Row("-", "Tại đô thị", "tấn/ngày", 2),
            Row("-", "Tại nông thôn", "tấn/ngày", 2),
            Row("II", "Nước thải", "m3/ngày"),
            Row("1", "Tỷ lệ nước thải đô thị được xử lý", "%", 5)]
    _values(rows)
    rows[0].value = rows[1].value + rows[2].value
    out.append(Form("environment-docx", "docx", ["Biểu số 09/TNMT", "CHẤT THẢI RẮN, NƯỚC THẢI"], rows))
    return out


def big_form(n: int = 60) -> Form:
    """A 60-row form (industrial production: 6 groups of 9 products), for timing."""
    rows: list[Row] = []
    for g in range(6):
        rows.append(Row(["I", "II", "III", "IV", "V", "VI"][g], f"Nhóm sản phẩm công nghiệp thứ {g + 1}", "tấn"))
        parent = len(rows) - 1
        for k in range(9):
            rows.append(Row(str(k + 1), f"Sản phẩm {k + 1} của nhóm {g + 1}", "tấn", parent))
    _values(rows)
    return Form("industry-60-xlsx", "xlsx", ["Biểu số 10/CN", "SẢN PHẨM CÔNG NGHIỆP CHỦ YẾU"], rows[:n])


# ------------------------------------------------------------------------------------------ writers
def _header(form: Form) -> tuple[list[list[str]], list[tuple[int, int, int, int]]]:
    """Header rows and merges (r0, c0, r1, c1; 0-based, inclusive)."""
    top, sub, merges = [], [], []
    two = form.nam_nu
    if form.numbering_column:
        top.append("STT")
    top.append("Chỉ tiêu")
    if form.code_column:
        top.append("Mã số")
    if form.unit_column:
        top.append("Đơn vị tính")
    for h in form.value_headers:
        if two and h == form.value_headers[0]:
            start = len(top)
            top += [h, h, h]
            sub_start = len(sub)
            sub += [""] * (start - sub_start) + ["Tổng số", "Nam", "Nữ"]
            merges.append((0, start, 0, start + 2))
        else:
            top.append(h)
    if two:
        sub += [""] * (len(top) - len(sub))
        for c in range(len(top)):
            if sub[c] == "":
                sub[c] = top[c]
                merges.append((0, c, 1, c))
        return [top, sub], merges
    return [top], merges


def _cells(form: Form, row: Row) -> list[str]:
    out = []
    label = row.label
    if form.unit_in_label:
        label = f"{label} ({row.unit})"
    if not form.numbering_column and row.numbering and not form.indent_only:
        label = f"{row.numbering}{'' if row.numbering.endswith((')', '-')) else '.'} {label}" if row.numbering != "-" else f"- {label}"
    if form.numbering_column:
        out.append(row.numbering)
    out.append(label)
    if form.code_column:
        out.append(row.code)
    if form.unit_column:
        out.append(row.unit)
    v = row.value
    text = "" if v is None else f"{v:,}".replace(",", "X").replace(".", ",").replace("X", ".")
    for n, _h in enumerate(form.value_headers):
        if form.nam_nu and n == 0:
            nam = row.nam or Decimal(0)
            out += [text, str(nam), str((v or 0) - nam)]
        elif n == 0:
            out.append(text)
        else:
            out.append("")
    return out


def build(form: Form) -> tuple[bytes, str]:
    return (_xlsx(form), f"{form.name}.xlsx") if form.kind == "xlsx" else (_docx(form), f"{form.name}.docx")


def _body(form: Form) -> list[tuple[list[str], int]]:
    """(cells, indent) of every body line, with "Trong đó:" headings, empty rows and notes."""
    out = []
    width = len(_header(form)[0][0])
    for i, row in enumerate(form.rows):
        if i in form.of_which_heading_before:
            out.append(([""] * (1 if form.numbering_column else 0) + ["Trong đó:"] + [""] * (width - 1 - (1 if form.numbering_column else 0)), 0))
        out.append((_cells(form, row), row.indent))
        if i in form.empty_rows_after:
            out.append(([""] * width, 0))
    return out


def _xlsx(form: Form) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment

    wb = Workbook()
    ws = wb.active
    ws.title = "Biểu"
    header, merges = _header(form)
    width = len(header[0])
    for line in form.caption:
        ws.append([line])
        ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=width)
    ws.append([])
    top = ws.max_row + 1
    for h in header:
        ws.append(h)
    for r0, c0, r1, c1 in merges:
        ws.merge_cells(start_row=top + r0, start_column=c0 + 1, end_row=top + r1, end_column=c1 + 1)
    if form.column_numbers:
        ws.append(["A", "B", "C"] + [str(i) for i in range(1, width - 2)])
    label_col = 2 if form.numbering_column else 1
    for cells, indent in _body(form):
        ws.append(cells)
        if indent:
            ws.cell(ws.max_row, label_col).alignment = Alignment(indent=indent)
    for note in form.notes:
        ws.append([])
        ws.append([note])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _docx(form: Form) -> bytes:
    from docx import Document
    from docx.shared import Cm

    doc = Document()
    for t in range(form.tables_before):
        doc.add_paragraph(f"Biểu số 0{t + 1}")
        doc.add_paragraph("PHƯƠNG TIỆN GIAO THÔNG ĐĂNG KÝ MỚI")
        other = doc.add_table(rows=3, cols=4)
        for r, cells in enumerate([["STT", "Chỉ tiêu", "Đơn vị tính", "Số lượng"], ["1", "Ô tô", "chiếc", "120"],
                                   ["2", "Mô tô, xe máy", "chiếc", "3.400"]]):
            for c, text in enumerate(cells):
                other.cell(r, c).text = text
        doc.add_paragraph("")
    for line in form.caption:
        doc.add_paragraph(line)
    header, merges = _header(form)
    body = _body(form)
    width = len(header[0])
    table = doc.add_table(rows=len(header) + len(body) + (1 if form.column_numbers else 0), cols=width)
    for r, cells in enumerate(header):
        for c, text in enumerate(cells):
            table.cell(r, c).text = text
    for r0, c0, r1, c1 in merges:
        merged = table.cell(r0, c0).merge(table.cell(r1, c1))
        merged.text = header[r0][c0]
    r = len(header)
    if form.column_numbers:
        for c in range(width):
            table.cell(r, c).text = ["A", "B", "C"][c] if c < 3 else str(c - 2)
        r += 1
    label_col = 1 if form.numbering_column else 0
    for cells, indent in body:
        for c, text in enumerate(cells):
            table.cell(r, c).text = text
        if indent:
            table.cell(r, label_col).paragraphs[0].paragraph_format.left_indent = Cm(0.5 * indent)
        r += 1
    for note in form.notes:
        doc.add_paragraph(note)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


@dataclass
class Score:
    rows: int  # expected rows
    recognised: int  # proposed rows with the expected name, in order
    parent: int  # … with the right parent and "of which"
    unit: int
    match: int  # … matched to the right library indicator, or proposed new when it is new
    extra: int  # proposed rows that are not in the form
    columns_ok: bool  # the system columns and the breakdown recognised


def score(form: Form, proposal) -> Score:
    from app.domain.form_import import OF_WHICH, fold

    got, want = proposal.rows, form.rows
    pairs = list(zip(got, want, strict=False))
    same = [fold(a.label) == fold(OF_WHICH.sub("", b.label)) for a, b in pairs]
    return Score(
        len(want), sum(same),
        sum(1 for (a, b), s in zip(pairs, same, strict=True) if s and a.parent == b.parent and a.of_which == b.of_which),
        sum(1 for (a, b), s in zip(pairs, same, strict=True) if s and a.unit == b.unit),
        sum(1 for (a, b), s in zip(pairs, same, strict=True) if s and ((b.match and not a.new and a.indicator == b.match) or (not b.match and a.new))),
        max(0, len(got) - len(want)),
        proposal.system_columns == form.system_columns and bool(proposal.breakdown) == form.nam_nu)


def library():
    """The indicator library and disaggregations of the shipped catalogue files (no database)."""
    from app.adapters.catalogue_files import read_catalogue_tree
    from app.domain import form_import
    from app.domain.catalogue_build import build_catalogue

    root = Path(__file__).resolve().parents[2]
    problems: list = []
    cat, _ = build_catalogue(*read_catalogue_tree(root, problems))
    return form_import.library_from(cat)
