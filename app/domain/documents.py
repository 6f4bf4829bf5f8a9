"""The canonical documents of the catalogue: one plain form for each regime, form, indicator and
disaggregation, whichever way it was written (a hand-edited YAML file or the web designer).

Fields come in a fixed order and optional ones are left out when empty, so a regime loaded from a
file and the same regime edited on the web have the same snapshot and hash, and exporting then
importing a regime is byte-stable. `parse(document(x)) == x` for every definition.
"""
from __future__ import annotations

from datetime import time
from typing import Any

from .catalogue import CompilePolicy, Disaggregation, Form, IndicatorDef, RegimeDef
from .deadlines import DeadlineKind, DeadlineRule, HolidayShift
from .periods import CutoffKind, CutoffRule

END_OF_DAY = time(23, 59, 59)


def _num(value: float | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else float(value)


def _put(doc: dict, key: str, value: Any) -> None:
    if value not in (None, "", [], (), {}):
        doc[key] = value


def deadline_document(rule: DeadlineRule) -> dict:
    doc: dict[str, Any] = {"rule": rule.kind.value}
    if rule.kind is DeadlineKind.DAY_OF_MONTH:
        doc["day"] = rule.day
        if rule.month_offset:
            doc["month_offset"] = rule.month_offset
    elif rule.kind in (DeadlineKind.DAYS_AFTER, DeadlineKind.WORKING_DAYS_AFTER):
        doc["days"] = rule.days
    else:
        doc["day"], doc["month"] = rule.day, rule.month
        if rule.year_offset:
            doc["year_offset"] = rule.year_offset
    if rule.shift is not HolidayShift.NEXT_WORKING_DAY:
        doc["shift"] = rule.shift.value
    if rule.at != END_OF_DAY:
        doc["time"] = rule.at.strftime("%H:%M")
    return doc


def cutoff_document(rule: CutoffRule) -> dict:
    doc: dict[str, Any] = {"rule": rule.kind.value}
    if rule.anchor_day != 15 and rule.kind is not CutoffKind.CALENDAR:
        doc["day"] = rule.anchor_day
    if rule.kind is CutoffKind.CUSTOM_ANNUAL:
        doc["month"] = rule.start_month
    return doc


def regime_document(regime: RegimeDef) -> dict:
    doc: dict[str, Any] = {"code": regime.code, "name_vi": regime.name_vi}
    _put(doc, "name_en", regime.name_en)
    doc |= {"type": regime.type, "frequency": regime.frequency.value, "issuing_agency": regime.issuing_agency,
            "legal_basis": regime.legal_basis, "valid_from": regime.valid_from.isoformat()}
    if regime.valid_to:
        doc["valid_to"] = regime.valid_to.isoformat()
    doc |= {"content": regime.content, "content_kind": regime.content_kind,
            "sending_methods": list(regime.sending_methods), "cutoff": cutoff_document(regime.cutoff)}
    doc["tiers"] = []
    for tier in regime.tiers:
        reporters: dict[str, Any] = {}
        _put(reporters, "levels", list(tier.reporters.levels))
        _put(reporters, "department_kinds", list(tier.reporters.department_kinds))
        _put(reporters, "agencies", list(tier.reporters.agencies))
        _put(reporters, "except_agencies", list(tier.reporters.except_agencies))
        _put(reporters, "except_department_kinds", list(tier.reporters.except_department_kinds))
        tier_doc = {"name": tier.name, "reporters": reporters, "receiver": tier.receiver, "deadline": deadline_document(tier.deadline)}
        if tier.compile != CompilePolicy():
            tier_doc["compile"] = {"basis": tier.compile.basis, "missing": tier.compile.missing}
        doc["tiers"].append(tier_doc)
    outline = []
    for s in regime.outline:
        section: dict[str, Any] = {"code": s.code, "title": s.title}
        _put(section, "guidance", s.guidance)
        if s.compiled:
            section["compiled"] = True
        outline.append(section)
    _put(doc, "outline", outline)
    _put(doc, "forms", [f.code for f in regime.forms])
    _put(doc, "process_guidance", regime.process_guidance)
    doc["reminder_days"] = list(regime.reminder_days)
    if regime.lock_after_days is not None:
        doc["lock_after_days"] = regime.lock_after_days
    return doc


def form_document(form: Form) -> dict:
    doc: dict[str, Any] = {"code": form.code, "title": form.title}
    _put(doc, "disaggregations", list(form.disaggregations))
    doc["columns"] = list(form.columns)
    if form.change_warning_pct is not None:
        doc["change_warning_pct"] = _num(form.change_warning_pct)
    rows = []
    for r in form.rows:
        row: dict[str, Any] = {"indicator": r.indicator}
        _put(row, "row", r.row)
        _put(row, "parent", r.parent)
        if r.of_which:
            row["of_which"] = True
        _put(row, "carried_from", r.carried_from)
        rows.append(row)
    doc["rows"] = rows
    rules = []
    for rd in form.rules:
        rule: dict[str, Any] = {"check": rd.rule.text, "severity": rd.severity}
        _put(rule, "message", rd.message)
        rules.append(rule)
    _put(doc, "rules", rules)
    return doc


def indicator_document(ind: IndicatorDef) -> dict:
    doc: dict[str, Any] = {"code": ind.code, "name_vi": ind.name_vi}
    _put(doc, "name_en", ind.name_en)
    doc |= {"unit": ind.unit, "value_type": ind.value_type, "aggregation": ind.aggregation}
    _put(doc, "disaggregations", list(ind.disaggregations))
    _put(doc, "min", _num(ind.min))
    _put(doc, "max", _num(ind.max))
    _put(doc, "description", ind.description)
    _put(doc, "numerator", list(ind.numerator))
    _put(doc, "denominator", list(ind.denominator))
    if ind.scale != 1.0:
        doc["scale"] = _num(ind.scale)
    return doc


def disaggregation_document(d: Disaggregation) -> dict:
    doc: dict[str, Any] = {"code": d.code, "name_vi": d.name_vi}
    _put(doc, "name_en", d.name_en)
    options = []
    for o in d.options:
        opt = {"code": o.code, "name_vi": o.name_vi}
        _put(opt, "name_en", o.name_en)
        options.append(opt)
    doc["options"] = options
    return doc
