"""Checking a report's values: type, range, required cells, the form's rules, computed cells and
large changes from the previous period. Every problem is returned at once, each located.

`where(key)` names a cell the way the person sees it: "Biểu 01!D12" for a workbook, a field label
for the web form, a JSON path for the API.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from .layout import TOTAL, CellKey, Entry, Layout, dparts
from .numbers import NotANumber, format_vn, parse_number

MAX_TEXT = 4000
MAX_OUTLINE = 50_000


@dataclass(frozen=True)
class Finding:
    severity: str  # "error" blocks saving (draft) or submitting; "warning" needs an explanation to submit
    code: str  # machine-readable: not_a_number, not_integer, below_min, above_max, required, rule, change, ...
    message: str  # plain Vietnamese
    indicator: str | None = None
    key: str = TOTAL
    where: str = ""
    explained: bool = False

    def as_dict(self) -> dict:
        return {"severity": self.severity, "code": self.code, "message": self.message, "indicator": self.indicator,
                "disaggregation": dparts(self.key), "cell_key": self.key, "where": self.where, "explained": self.explained}


Locator = Callable[[CellKey], str]


def _default_where(key: CellKey) -> str:
    return f"{key[0]}[{key[1]}]" if key[1] else key[0]


def read_entries(layout: Layout, raw: Mapping[CellKey, tuple[object, bool, str]],
                 where: Locator = _default_where) -> tuple[dict[CellKey, Entry], list[Finding]]:
    """Raw (value, estimate, comment) per cell → parsed entries, and every value that is not
    acceptable (not a number, not whole, out of range, unknown cell, text too long)."""
    entries: dict[CellKey, Entry] = {}
    findings: list[Finding] = []
    for key, (value, estimate, comment) in raw.items():
        code = key[0]
        cell = layout.cells.get(key)
        at = where(key)
        if cell is None:
            findings.append(Finding("error", "unknown_cell", f"Chỉ tiêu “{code}”{_col(key[1])} không có trong biểu của phiên bản này",
                                    code, key[1], at))
            continue
        comment = (comment or "").strip()
        if len(comment) > MAX_TEXT:
            findings.append(Finding("error", "too_long", f"Ghi chú dài quá {MAX_TEXT} ký tự", code, key[1], at))
            comment = comment[:MAX_TEXT]
        parsed: Decimal | str | None = None
        if value is not None and not (isinstance(value, str) and not value.strip()):
            ind = cell.indicator
            if ind.value_type == "text":
                parsed = str(value).strip()
                if len(parsed) > MAX_TEXT:
                    findings.append(Finding("error", "too_long", f"Nội dung dài quá {MAX_TEXT} ký tự", code, key[1], at))
                    continue
            else:
                try:
                    parsed = parse_number(value)  # type: ignore[arg-type]
                except NotANumber as exc:
                    findings.append(Finding("error", "not_a_number", f"{ind.name_vi}: {exc}", code, key[1], at))
                    continue
                problem = _range_problem(ind, parsed)
                if problem:
                    findings.append(Finding("error", problem[0], f"{ind.name_vi}: {problem[1]}", code, key[1], at))
                    continue
        entries[key] = Entry(parsed, bool(estimate), comment)
    return entries, findings


def _range_problem(ind, value: Decimal) -> tuple[str, str] | None:
    if ind.value_type == "integer" and value != value.to_integral_value():
        return "not_integer", f"phải là số nguyên, nhận được {format_vn(value)}"
    if ind.min is not None and value < Decimal(str(ind.min)):
        return "below_min", f"{format_vn(value)} nhỏ hơn mức tối thiểu {format_vn(Decimal(str(ind.min)))} {ind.unit}"
    if ind.max is not None and value > Decimal(str(ind.max)):
        return "above_max", f"{format_vn(value)} lớn hơn mức tối đa {format_vn(Decimal(str(ind.max)))} {ind.unit}"
    return None


def _col(key: str) -> str:
    return f" (cột {key})" if key else ""


def check(layout: Layout, entries: Mapping[CellKey, Entry], *, submitting: bool,
          previous: Mapping[CellKey, Decimal | str | None] | None = None,
          where: Locator = _default_where) -> list[Finding]:
    """Problems with a complete set of entries. Drafts (submitting=False) are only refused for
    values a computed cell contradicts; missing cells, rules and changes are reported as they are
    (so the reporter sees them while working) but only block at submission."""
    findings: list[Finding] = []
    typed = {k: e.value for k, e in entries.items()}
    full = layout.complete(typed)
    row_comments: dict[str, bool] = {}
    for (code, _key), e in entries.items():
        if e.comment:
            row_comments[code] = True

    def explained(code: str) -> bool:
        return row_comments.get(code, False)

    # a computed cell that was given must agree with what it is computed from
    for key, given in typed.items():
        cell = layout.cells.get(key)
        if cell is None or not cell.computed or given is None:
            continue
        expected = full.get(key)
        if isinstance(given, Decimal) and expected is not None and not _close(given, expected):
            findings.append(Finding("error", "computed_mismatch",
                                    f"{cell.indicator.name_vi}: ghi {format_vn(given)} nhưng {_how(cell.kind)} là {format_vn(expected)}",
                                    key[0], key[1], where(key)))

    sev_missing = "error" if submitting else "warning"
    for key in layout.input_keys:
        if full.get(key) is None:
            cell = layout.cells[key]
            findings.append(Finding(sev_missing, "required", f"{cell.indicator.name_vi}: chưa nhập{_col(key[1])}",
                                    key[0], key[1], where(key)))

    # the form's rules, once per column (total and each breakdown)
    for grid in layout.forms:
        for col in grid.columns:
            values = {code: float(v) for (code, k), v in full.items() if k == col.key and isinstance(v, Decimal)}
            for rule in grid.form.rules:
                if rule.rule.holds(values) is False:
                    anchor = _anchor(rule.rule, layout, col.key)
                    severity = rule.severity
                    msg = rule.message or f"Không thỏa quy tắc {rule.rule.text}"
                    if col.key:
                        msg += f" (cột {col.label})"
                    findings.append(Finding(severity, "rule", msg, anchor[0], anchor[1], where(anchor),
                                            explained=severity == "warning" and explained(anchor[0])))

    # large moves from the previous period
    if previous:
        for grid in layout.forms:
            pct = grid.form.change_warning_pct
            if pct is None:
                continue
            for line in grid.lines:
                for cell in line.cells:
                    key = (cell.indicator.code, cell.key)
                    cur, prev = full.get(key), previous.get(key)
                    if not isinstance(cur, Decimal) or not isinstance(prev, Decimal) or prev == 0:
                        continue
                    change = (cur - prev) / abs(prev) * 100
                    if abs(change) > Decimal(str(pct)):
                        word = "tăng" if change > 0 else "giảm"
                        findings.append(Finding(
                            "warning", "change",
                            f"{cell.indicator.name_vi}{_col(cell.key)}: {word} {format_vn(abs(change), 1)}% so với kỳ trước "
                            f"({format_vn(prev)} → {format_vn(cur)}), vượt ngưỡng {format_vn(Decimal(str(pct)))}% — hãy ghi giải trình",
                            key[0], key[1], where(key), explained=explained(key[0])))
    return _dedupe(findings)


def blocking(findings: list[Finding], *, submitting: bool) -> list[Finding]:
    """The findings that refuse the action: errors always; unexplained warnings at submission."""
    if not submitting:
        return [f for f in findings if f.severity == "error" and f.code not in ("required", "rule")]
    return [f for f in findings if f.severity == "error" or not f.explained]


def check_outline(sections: Mapping[str, str], known: list[str]) -> list[Finding]:
    out = []
    for code, text in sections.items():
        if code not in known:
            out.append(Finding("error", "unknown_section", f"Đề cương không có mục “{code}”", where=f"outline.{code}"))
        elif text is not None and len(text) > MAX_OUTLINE:
            out.append(Finding("error", "too_long", f"Mục {code} dài quá {MAX_OUTLINE} ký tự", where=f"outline.{code}"))
    return out


def _anchor(rule, layout: Layout, key: str) -> CellKey:
    """The cell a rule's finding points at: the first indicator on its left side."""
    left = [c for c in rule.left_codes if (c, key) in layout.cells] or sorted(rule.codes)
    return (left[0], key)


def _how(kind: str) -> str:
    return {"children": "tổng các dòng thành phần", "options": "tổng các cột phân tổ", "ratio": "tỷ lệ tính từ tử số/mẫu số"}.get(kind, "")


def _close(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) <= Decimal("0.000001") * max(Decimal(1), abs(a), abs(b))


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in findings:
        k = (f.code, f.indicator, f.key, f.message)
        if k not in seen:
            seen.add(k)
            out.append(f)
    return out
