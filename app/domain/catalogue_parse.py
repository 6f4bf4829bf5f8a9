"""Reading catalogue documents (plain data from YAML files, the designer or a stored snapshot) into
the definitions of catalogue.py: every problem located by file and line; the whole catalogue built
and cross-checked; snapshots and their hashes."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time
from typing import Any

from .catalogue import (
    AGGREGATIONS,
    CODE_RE,
    COMPILE_BASES,
    COMPILE_MISSING,
    CONTENT_KINDS,
    DEFAULT_REMINDER_DAYS,
    FORM_KEYS,
    FREQUENCY_NAMES,
    INDICATOR_KEYS,
    LEVELS,
    REGIME_KEYS,
    REGIME_TYPES,
    SENDING_METHODS,
    SEVERITIES,
    SYSTEM_COLUMNS,
    VALUE_TYPES,
    Catalogue,
    CompilePolicy,
    Disaggregation,
    Form,
    FormRow,
    IndicatorDef,
    Option,
    OutlineSection,
    RegimeDef,
    RuleDef,
    Selector,
    Source,
    Tier,
)
from .deadlines import (
    DeadlineKind,
    DeadlineRule,
    HolidayShift,
    compute_deadline,
    leaves_a_working_day,
)
from .errors import Problem
from .periods import CutoffKind, CutoffRule, Frequency
from .rules import RuleSyntaxError, parse_rule
from .workdays import DEFAULT_CALENDAR, WorkingCalendar


# ---------------------------------------------------------------------------------- reading
def line_of(node: Any, key: Any = None) -> int | None:
    lines = getattr(node, "lines", None)
    if key is not None and lines and key in lines:
        return lines[key]
    return getattr(node, "line", None)


# what each field of a regime, form or indicator file is called in the designer (messages name the
# field as its users see it; file editors find it in docs/catalogue-format.md under the same name)
FIELD_VI = {
    "code": "Mã", "name_vi": "Tên", "name_en": "Tên tiếng Anh", "type": "Loại báo cáo", "frequency": "Tần suất",
    "issuing_agency": "Cơ quan ban hành", "legal_basis": "Căn cứ pháp lý", "valid_from": "Hiệu lực từ ngày",
    "valid_to": "Hiệu lực đến ngày", "content": "Nội dung báo cáo", "content_kind": "Tính chất nội dung",
    "sending_methods": "Phương thức gửi, nhận báo cáo", "cutoff": "Thời gian chốt số liệu", "tiers": "Các cấp báo cáo",
    "outline": "Đề cương báo cáo", "forms": "Biểu mẫu số liệu", "process_guidance": "Hướng dẫn quy trình",
    "reminder_days": "Nhắc trước hạn (ngày)", "lock_after_days": "Khóa sổ sau hạn (ngày)", "note": "Ghi chú",
    "title": "Tên biểu", "rows": "Dòng chỉ tiêu", "disaggregations": "Phân tổ", "columns": "Cột",
    "rules": "Quy tắc kiểm tra", "change_warning_pct": "Ngưỡng cảnh báo thay đổi (%)", "unit": "Đơn vị tính",
    "value_type": "Kiểu giá trị", "aggregation": "Cách tổng hợp", "min": "Giá trị nhỏ nhất", "max": "Giá trị lớn nhất",
    "description": "Mô tả, phương pháp tính", "numerator": "Tử số", "denominator": "Mẫu số", "scale": "Hệ số",
    "deadline": "Thời hạn gửi báo cáo", "reporters": "Đơn vị báo cáo", "receiver": "Cơ quan nhận", "name": "Tên",
    "indicator": "Chỉ tiêu", "check": "Quy tắc", "severity": "Mức độ", "message": "Thông báo", "kind": "Cách tính hạn",
    "day": "Ngày", "days": "Số ngày", "start": "Ngày bắt đầu", "end": "Ngày kết thúc",
    "basis": "Tổng hợp từ báo cáo", "missing": "Đơn vị chưa gửi", "compile": "Cách tổng hợp của cấp",
}


def field_vi(key: str) -> str:
    return FIELD_VI.get(key, key)


class _Reader:
    """Reads fields from a mapping, collecting every problem instead of stopping at the first."""

    def __init__(self, path: str, problems: list[Problem]):
        self.path, self.problems = path, problems

    def fail(self, node: Any, key: Any, message: str, field: str | None = None) -> None:
        self.problems.append(Problem(message, self.path, line_of(node, key), field=field))

    def mapping(self, node: Any, what: str, keys: Iterable[str] | None = None) -> dict | None:
        if not isinstance(node, dict):
            self.fail(node, None, f"{what} phải là một bảng khóa: giá trị")
            return None
        if keys is not None:
            for unknown in [k for k in node if k not in keys]:
                self.fail(node, unknown, f"{what}: trường “{unknown}” không được hỗ trợ (xem docs/catalogue-format.md)")
        return node

    def text(self, node: dict, key: str, required: bool = True, default: str = "") -> str:
        value = node.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(node, None, f"thiếu trường bắt buộc “{field_vi(key)}”", field=key)
            return default
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.fail(node, key, f"“{field_vi(key)}” phải là văn bản")
            return default
        return str(value).strip()

    def code(self, node: dict, key: str = "code", required: bool = True) -> str:
        value = self.text(node, key, required)
        if value and not CODE_RE.match(value):
            self.fail(node, key, f"mã “{value}” không hợp lệ: chữ in hoa, số, “_ . -”, bắt đầu bằng chữ, tối đa 40 ký tự")
        return value

    def choice(self, node: dict, key: str, allowed: Iterable[str], default: str | None = None) -> str:
        allowed = tuple(allowed)
        value = node.get(key, default)
        if value is None:
            self.fail(node, None, f"thiếu trường bắt buộc “{field_vi(key)}”", field=key)
            return allowed[0]
        if value not in allowed:
            self.fail(node, key, f"“{field_vi(key)}” không nhận giá trị “{value}”; chọn một trong: {', '.join(allowed)}")
            return allowed[0]
        return value

    def number(self, node: dict, key: str, default: float | None = None) -> float | None:
        value = node.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(node, key, f"“{field_vi(key)}” phải là số")
            return default
        return float(value)

    def integer(self, node: dict, key: str, default: int, lo: int, hi: int) -> int:
        value = node.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            self.fail(node, key, f"“{field_vi(key)}” phải là số nguyên từ {lo} đến {hi}")
            return default
        return value

    def day(self, node: dict, key: str, required: bool = True) -> date | None:
        value = node.get(key)
        if value is None:
            if required:
                self.fail(node, None, f"thiếu trường bắt buộc “{field_vi(key)}” (ngày)", field=key)
            return None
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(node, key, f"“{key}: {value}” không phải ngày hợp lệ (YYYY-MM-DD)")
            return None

    def strings(self, node: dict, key: str) -> tuple[str, ...]:
        value = node.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(node, key, f"“{key}” phải là danh sách văn bản")
            return ()
        return tuple(v.strip() for v in value)

    def items(self, node: dict, key: str, required: bool = True) -> list:
        value = node.get(key)
        if value is None:
            if required:
                self.fail(node, None, f"thiếu danh sách bắt buộc “{key}”")
            return []
        if not isinstance(value, list):
            self.fail(node, key, f"“{key}” phải là một danh sách")
            return []
        return value


def parse_disaggregations(source: Source, problems: list[Problem]) -> list[Disaggregation]:
    r = _Reader(source.path, problems)
    doc = r.mapping(source.data, "Tệp phân tổ")
    out = []
    for node in r.items(doc or {}, "disaggregations"):
        if not r.mapping(node, "Phân tổ"):
            continue
        options = []
        for opt in r.items(node, "options"):
            if r.mapping(opt, "Phương án phân tổ"):
                options.append(Option(r.code(opt), r.text(opt, "name_vi"), r.text(opt, "name_en", False)))
        if len({o.code for o in options}) != len(options):
            r.fail(node, "options", "phân tổ có mã phương án trùng nhau")
        out.append(Disaggregation(r.code(node), r.text(node, "name_vi"), r.text(node, "name_en", False), tuple(options)))
    return out


def parse_indicators(source: Source, problems: list[Problem]) -> list[tuple[IndicatorDef, Any]]:
    r = _Reader(source.path, problems)
    doc = r.mapping(source.data, "Tệp chỉ tiêu")
    out = []
    for node in r.items(doc or {}, "indicators"):
        if not r.mapping(node, "Chỉ tiêu", INDICATOR_KEYS):
            continue
        ind = IndicatorDef(
            code=r.code(node),
            name_vi=r.text(node, "name_vi"),
            name_en=r.text(node, "name_en", False),
            unit=r.text(node, "unit"),
            value_type=r.choice(node, "value_type", VALUE_TYPES, "number"),
            aggregation=r.choice(node, "aggregation", AGGREGATIONS, "sum"),
            disaggregations=r.strings(node, "disaggregations"),
            min=r.number(node, "min"),
            max=r.number(node, "max"),
            description=r.text(node, "description", False),
            numerator=r.strings(node, "numerator"),
            denominator=r.strings(node, "denominator"),
            scale=r.number(node, "scale", 1.0) or 1.0,
        )
        if ind.aggregation == "ratio" and not (ind.numerator and ind.denominator):
            r.fail(node, "aggregation", f"chỉ tiêu {ind.code} tổng hợp kiểu tỷ lệ cần “numerator” và “denominator”")
        if ind.value_type == "text" and ind.aggregation not in ("none", "latest"):
            r.fail(node, "aggregation", f"chỉ tiêu văn bản {ind.code} chỉ có thể tổng hợp kiểu none hoặc latest")
        if ind.min is not None and ind.max is not None and ind.min > ind.max:
            r.fail(node, "min", f"chỉ tiêu {ind.code}: min lớn hơn max")
        out.append((ind, node))
    return out


def parse_regime(
    source: Source, forms: dict[str, Source], catalogue: Catalogue, problems: list[Problem]
) -> RegimeDef | None:
    """Parse a regime and its forms against the indicators and disaggregations already read."""
    r = _Reader(source.path, problems)
    node = r.mapping(source.data, "Tệp chế độ báo cáo", REGIME_KEYS)
    if node is None:
        return None
    before = len(problems)
    frequency = FREQUENCY_NAMES.get(str(node.get("frequency")))
    if frequency is None:
        r.fail(node, "frequency", f"tần suất “{node.get('frequency')}” không hợp lệ; chọn: weekly, monthly, quarterly, semiannual, nine_month, annual, once, ad_hoc")
        frequency = Frequency.MONTHLY
    regime_type = r.choice(node, "type", REGIME_TYPES, "periodic")
    if (regime_type == "periodic") == (frequency is Frequency.AD_HOC):
        r.fail(node, "frequency", "chế độ định kỳ cần tần suất định kỳ; chuyên đề/đột xuất dùng tần suất once hoặc ad_hoc")
    regime = RegimeDef(
        code=r.code(node),
        name_vi=r.text(node, "name_vi"),
        name_en=r.text(node, "name_en", False),
        type=regime_type,
        frequency=frequency,
        issuing_agency=r.code(node, "issuing_agency"),
        legal_basis=r.text(node, "legal_basis"),
        valid_from=r.day(node, "valid_from") or date(2000, 1, 1),
        valid_to=r.day(node, "valid_to", required=False),
        content=r.text(node, "content"),
        content_kind=r.choice(node, "content_kind", CONTENT_KINDS, "both"),
        sending_methods=_sending_methods(r, node),
        cutoff=_cutoff(r, node, frequency),
        tiers=tuple(_tier(r, t) for t in r.items(node, "tiers") if r.mapping(t, "Cấp báo cáo", ("name", "reporters", "receiver", "deadline", "compile"))),
        outline=tuple(_section(r, s) for s in r.items(node, "outline", required=False) if r.mapping(s, "Mục đề cương")),
        forms=tuple(_forms(r, node, forms, catalogue, problems)),
        process_guidance=r.text(node, "process_guidance", required=False),
        reminder_days=_reminders(r, node),
        lock_after_days=node.get("lock_after_days"),
    )
    if not regime.tiers:
        r.fail(node, "tiers", "chế độ báo cáo cần ít nhất một cấp báo cáo (đối tượng, cơ quan nhận, thời hạn)")
    if regime.content_kind in ("data", "both") and not node.get("forms"):
        r.fail(node, "forms", "nội dung có số liệu nhưng chưa có biểu mẫu nào")
    if regime.content_kind in ("text", "both") and not regime.outline:
        r.fail(node, "outline", "nội dung có phần lời nhưng chưa có mẫu đề cương")
    if len(regime.tiers) > 1 and not regime.process_guidance:
        r.fail(node, "tiers", "chế độ nhiều cấp phải có hướng dẫn quy trình (process_guidance, Điều 8 khoản 9)")
    if regime.valid_to and regime.valid_to < regime.valid_from:
        r.fail(node, "valid_to", "valid_to trước valid_from")
    if len(problems) == before:
        problems.extend(check_deadlines(regime, source.path, node))
    return regime if len(problems) == before else None


def check_deadlines(regime: RegimeDef, path: str = "", node: Any = None, cal: WorkingCalendar = DEFAULT_CALENDAR) -> list[Problem]:
    """Art. 8(5): each tier's deadline at least one working day after the cut-off, tiers in order.
    Checked on every period of the first three years of validity (Tết moves every year)."""
    if regime.frequency is Frequency.AD_HOC:
        return []
    start = regime.valid_from
    end = date(start.year + 3, start.month, 1)
    tiers_nodes = (node or {}).get("tiers") if isinstance(node, dict) else None
    problems = []
    for period in regime.periods(start, end):
        cut_end = period.cutoff(regime.cutoff)[1]
        previous = None
        for i, tier in enumerate(regime.tiers):
            tier_node = tiers_nodes[i] if isinstance(tiers_nodes, list) and i < len(tiers_nodes) else None
            deadline = compute_deadline(tier.deadline, cut_end, period.year, cal)
            if not leaves_a_working_day(deadline, cut_end, cal):
                problems.append(Problem(
                    f"thời hạn của cấp “{tier.name}” kỳ {period.key} ({deadline.due:%d/%m/%Y}) không cách ngày chốt số liệu "
                    f"({cut_end:%d/%m/%Y}) ít nhất 1 ngày làm việc (Điều 8 khoản 5 Nghị định 09/2019/NĐ-CP)",
                    path, line_of(tier_node, "deadline")))
            elif previous and deadline.due < previous:
                problems.append(Problem(
                    f"thời hạn của cấp “{tier.name}” kỳ {period.key} ({deadline.due:%d/%m/%Y}) sớm hơn cấp trước",
                    path, line_of(tier_node, "deadline")))
            previous = deadline.due
        if problems:
            return problems  # one period is enough to show a rule is wrong
    return problems


def _sending_methods(r: _Reader, node: dict) -> tuple[str, ...]:
    methods = r.strings(node, "sending_methods")
    if not methods:
        r.fail(node, None, "thiếu trường bắt buộc “Phương thức gửi, nhận báo cáo”", field="sending_methods")
    for m in methods:
        if m not in SENDING_METHODS:
            r.fail(node, "sending_methods", f"phương thức gửi “{m}” không hợp lệ; chọn: {', '.join(SENDING_METHODS)}")
    return methods


def _cutoff(r: _Reader, node: dict, frequency: Frequency) -> CutoffRule:
    spec = node.get("cutoff") or {"rule": "decree09"}
    if not r.mapping(spec, "cutoff"):
        return CutoffRule()
    kind = r.choice(spec, "rule", [k.value for k in CutoffKind], "decree09")
    rule = CutoffRule(
        CutoffKind(kind),
        anchor_day=r.integer(spec, "day", 15, 1, 28),
        start_month=r.integer(spec, "month", 1, 1, 12),
    )
    if rule.kind is CutoffKind.CUSTOM_ANNUAL and frequency is not Frequency.ANNUAL:
        r.fail(spec, "rule", "kỳ chốt số liệu tùy chỉnh (custom_annual) chỉ dùng cho báo cáo năm")
    return rule


def _deadline(r: _Reader, spec: Any) -> DeadlineRule:
    if not r.mapping(spec, "deadline"):
        return DeadlineRule(DeadlineKind.DAYS_AFTER, days=1)
    kind = DeadlineKind(r.choice(spec, "rule", [k.value for k in DeadlineKind]))
    shift = HolidayShift(r.choice(spec, "shift", [s.value for s in HolidayShift], "next_working_day"))
    at = time(23, 59, 59)
    if spec.get("time") is not None:
        try:
            at = time.fromisoformat(str(spec["time"]))
        except ValueError:
            r.fail(spec, "time", f"giờ “{spec['time']}” không hợp lệ (HH:MM)")
    if kind is DeadlineKind.DAY_OF_MONTH:
        return DeadlineRule(kind, day=r.integer(spec, "day", 1, 1, 31), month_offset=r.integer(spec, "month_offset", 0, 0, 12), shift=shift, at=at)
    if kind in (DeadlineKind.DAYS_AFTER, DeadlineKind.WORKING_DAYS_AFTER):
        return DeadlineRule(kind, days=r.integer(spec, "days", 1, 0, 366), shift=shift, at=at)
    return DeadlineRule(kind, day=r.integer(spec, "day", 1, 1, 31), month=r.integer(spec, "month", 1, 1, 12),
                        year_offset=r.integer(spec, "year_offset", 0, 0, 2), shift=shift, at=at)


def _tier(r: _Reader, node: dict) -> Tier:
    reporters = node.get("reporters")
    selector = Selector()
    if r.mapping(reporters, "reporters"):
        selector = Selector(r.strings(reporters, "levels"), r.strings(reporters, "department_kinds"), r.strings(reporters, "agencies"),
                            r.strings(reporters, "except_agencies"), r.strings(reporters, "except_department_kinds"))
        for level in selector.levels:
            if level not in LEVELS:
                r.fail(reporters, "levels", f"cấp “{level}” không hợp lệ; chọn: {', '.join(LEVELS)}")
        if not (selector.levels or selector.agencies):
            r.fail(reporters, None, "đối tượng thực hiện báo cáo cần “levels” hoặc “agencies”")
    if "deadline" not in node:
        r.fail(node, None, "thiếu trường bắt buộc “Thời hạn gửi báo cáo” của cấp này", field="deadline")
    policy = CompilePolicy()
    if node.get("compile") is not None and r.mapping(node["compile"], "compile", ("basis", "missing")):
        policy = CompilePolicy(r.choice(node["compile"], "basis", list(COMPILE_BASES), "approved"),
                               r.choice(node["compile"], "missing", list(COMPILE_MISSING), "omit"))
    tier = Tier(r.text(node, "name"), selector, r.text(node, "receiver"), _deadline(r, node.get("deadline", {})), policy)
    if receives_itself(tier):
        r.fail(node, "receiver", f"cơ quan nhận “{tier.receiver}” cũng là đối tượng báo cáo của cấp này: không ai được "
                                 "nhận và phê duyệt báo cáo của chính mình — loại nó ra bằng “except_agencies” "
                                 "hoặc “except_department_kinds”")
    return tier


def receives_itself(tier: Tier, receiver_level: str | None = None, receiver_kind: str | None = None) -> bool:
    """Whether some reporter of `tier` would be its own receiver (separation of duties). The level
    and kind of a receiver named by code are known only with the agency map; pass them when known."""
    sel, rule = tier.reporters, tier.receiver
    if rule in sel.agencies:
        return True
    if rule.startswith("department:"):
        kind = rule.split(":", 1)[1]
        return ("department" in sel.levels and (not sel.department_kinds or kind in sel.department_kinds)
                and kind not in sel.except_department_kinds)
    if receiver_level is not None and receiver_level in sel.levels and rule not in sel.except_agencies:
        if receiver_level != "department":
            return True
        return (not sel.department_kinds or receiver_kind in sel.department_kinds) and receiver_kind not in sel.except_department_kinds
    return False


def _section(r: _Reader, node: dict) -> OutlineSection:
    return OutlineSection(r.text(node, "code"), r.text(node, "title"), r.text(node, "guidance", False), bool(node.get("compiled", False)))


def _reminders(r: _Reader, node: dict) -> tuple[int, ...]:
    days = node.get("reminder_days")
    if days is None:
        return DEFAULT_REMINDER_DAYS
    if not isinstance(days, list) or not all(isinstance(d, int) and not isinstance(d, bool) for d in days):
        r.fail(node, "reminder_days", "“reminder_days” phải là danh sách số nguyên (âm: trước hạn, dương: sau hạn)")
        return DEFAULT_REMINDER_DAYS
    return tuple(sorted(set(days)))


def _forms(r: _Reader, node: dict, sources: dict[str, Source], catalogue: Catalogue, problems: list[Problem]) -> list[Form]:
    out = []
    for code in r.strings(node, "forms"):
        if code in sources and sources[code] is None:
            continue  # the form file did not parse; that problem is already reported
        source = sources.get(code)
        if source is None:
            r.fail(node, "forms", f"không tìm thấy tệp biểu mẫu “{code}” (forms/{code}.yaml)")
            continue
        form = _form(source, catalogue, problems)
        if form is not None:
            out.append(form)
    return out


def _form(source: Source, catalogue: Catalogue, problems: list[Problem]) -> Form | None:
    r = _Reader(source.path, problems)
    node = r.mapping(source.data, "Tệp biểu mẫu", FORM_KEYS)
    if node is None:
        return None
    rows = []
    for row in r.items(node, "rows"):
        if not r.mapping(row, "Dòng biểu mẫu", ("indicator", "row", "parent", "of_which", "carried_from")):
            continue
        code = r.text(row, "indicator")
        if code and code not in catalogue.indicators:
            r.fail(row, "indicator", f"chỉ tiêu “{code}” chưa có trong danh mục chỉ tiêu")
        rows.append(FormRow(code, str(row.get("row", "")), row.get("parent"), bool(row.get("of_which", False)), row.get("carried_from")))
    codes = [x.indicator for x in rows]
    for i, row in enumerate(rows):
        if codes.count(row.indicator) > 1 and codes.index(row.indicator) == i:
            r.fail(node["rows"][i], "indicator", f"chỉ tiêu “{row.indicator}” xuất hiện nhiều lần trong biểu")
        if row.parent and row.parent not in codes:
            r.fail(node["rows"][i], "parent", f"dòng cha “{row.parent}” không có trong biểu")
        if row.carried_from and row.carried_from not in codes:
            r.fail(node["rows"][i], "carried_from", f"chỉ tiêu chuyển kỳ “{row.carried_from}” không có trong biểu")
    disaggs = r.strings(node, "disaggregations")
    for d in disaggs:
        if d not in catalogue.disaggregations:
            r.fail(node, "disaggregations", f"phân tổ “{d}” chưa có trong danh mục phân tổ")
    columns = r.strings(node, "columns") or ("current",)
    for c in columns:
        if c not in SYSTEM_COLUMNS:
            r.fail(node, "columns", f"cột “{c}” không hợp lệ; chọn: {', '.join(SYSTEM_COLUMNS)}")
    rules = []
    for rule_node in r.items(node, "rules", required=False):
        if not r.mapping(rule_node, "Quy tắc", ("check", "severity", "message")):
            continue
        try:
            rule = parse_rule(r.text(rule_node, "check"))
        except RuleSyntaxError as exc:
            r.fail(rule_node, "check", str(exc))
            continue
        for unknown in sorted(rule.codes - set(codes)):
            r.fail(rule_node, "check", f"quy tắc “{rule.text}” dùng chỉ tiêu “{unknown}” không có trong biểu")
        rules.append(RuleDef(rule, r.choice(rule_node, "severity", SEVERITIES, "error"), r.text(rule_node, "message", False)))
    return Form(r.code(node), r.text(node, "title"), tuple(rows), disaggs, tuple(columns), tuple(rules), r.number(node, "change_warning_pct"))
