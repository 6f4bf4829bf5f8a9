"""The compile chain in the API: compile a report from the tier below, and read what a compiled
version rests on (units, cells, drill-back list of one cell, changes below since)."""
from __future__ import annotations

from flask import abort
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.domain import chain as rules
from app.domain.numbers import canonical
from app.services import chain as svc
from app.services import submissions as submissions_svc

from . import csrf_for_cookie_sessions, require_login
from .schemas import ApiErrorSchema

blp = Blueprint("compilations", __name__, description="Tổng hợp từ báo cáo cấp dưới — the compile chain")
blp.before_request(require_login)
blp.before_request(csrf_for_cookie_sessions)


class CompileIn(Schema):
    regime = fields.String(required=True, validate=validate.Length(min=1, max=40))
    agency = fields.String(required=True, validate=validate.Length(min=1, max=40))
    period = fields.String(required=True, validate=validate.Length(min=1, max=40))
    revision = fields.Integer(strict=True, load_default=None, allow_none=True)


class CellArgs(Schema):
    cell = fields.String(load_default="", validate=validate.Length(max=100),
                         metadata={"description": "INDICATOR|BREAKDOWN — adds the drill-back list of that cell"})


class UnitOut(Schema):
    agency = fields.String()
    name = fields.String()
    status = fields.String()
    on_time = fields.Boolean(allow_none=True)
    version = fields.Integer(allow_none=True, metadata={"description": "the version counted; null when not counted"})
    carried_from = fields.String(allow_none=True, metadata={"description": "period whose value was carried (an estimate)"})


class CellOut(Schema):
    cell = fields.String(metadata={"description": "INDICATOR|BREAKDOWN"})
    compiled = fields.String(allow_none=True, metadata={"description": "the compiled value (decimal as text)"})
    value = fields.String(allow_none=True, metadata={"description": "the value in the report (the compiler's override when it differs)"})
    overridden = fields.Boolean()
    units = fields.Integer()
    estimate = fields.Boolean()


class SourceOut(Schema):
    agency = fields.String()
    name = fields.String()
    value = fields.String(allow_none=True)
    version = fields.Integer(allow_none=True)
    status = fields.String()
    estimate = fields.Boolean()
    carried_from = fields.String(allow_none=True)


class ChangeOut(Schema):
    agency = fields.String()
    name = fields.String()
    before = fields.String()
    after = fields.String()


class CompilationOut(Schema):
    submission = fields.Integer()
    version = fields.Integer()
    compiled_at = fields.String(allow_none=True)
    basis = fields.String()
    missing_policy = fields.String()
    units = fields.List(fields.Nested(UnitOut))
    cells = fields.List(fields.Nested(CellOut))
    changes_below = fields.List(fields.Nested(ChangeOut))
    sources = fields.List(fields.Nested(SourceOut), metadata={"description": "with ?cell=: that cell's drill-back list"})


def _text(v):
    return None if v is None else (canonical(v) if not isinstance(v, str) else v)  # the same text on every database


def _out(report, number: int | None = None, cell: str = "") -> dict:
    sub = report.submission
    version = sub.version(number) if number else sub.latest
    record = version.compilation or {}
    comp = svc.gather(report)
    entries = report.entries(version.number)
    over = rules.overrides(record, entries) if record else {}
    units = {u.code: u for u in comp.units}
    out_units = []
    for code in sorted(set(units) | set(record.get("sources", {})) | set(record.get("missing", []))):
        u = units.get(code)
        src = (record.get("sources") or {}).get(code)
        out_units.append({"agency": code, "name": u.name if u else code, "status": src["status"] if src else (u.status if u else ""),
                          "on_time": u.on_time if u else None, "version": src["version"] if src else None,
                          "carried_from": (record.get("carried") or {}).get(code)})
    cells = []
    for cid, compiled in sorted((record.get("values") or {}).items()):
        key = rules.key_of(cid)
        e = entries.get(key)
        cells.append({"cell": cid, "compiled": compiled, "value": _text(e.value) if e else None, "overridden": key in over,
                      "units": (record.get("units") or {}).get(cid, 0), "estimate": cid in set(record.get("estimates") or [])})
    sources = []
    if cell:
        key = rules.key_of(cell)
        if key not in report.layout.cells or report.layout.cells[key].computed:
            abort(404)
        sources = [{"agency": s.code, "name": s.name, "value": _text(s.value), "version": s.version, "status": s.status,
                    "estimate": s.estimate, "carried_from": s.carried_from} for s in svc.sources_of(comp, key)]
    return {"submission": sub.id, "version": version.number, "compiled_at": record.get("at"),
            "basis": comp.policy.basis, "missing_policy": comp.policy.missing, "units": out_units, "cells": cells,
            "changes_below": [{"agency": c.code, "name": c.name, "before": c.before, "after": c.after}
                              for c in svc.changes_below(report, comp)] if number is None else [],
            "sources": sources}


@blp.route("", methods=["POST"])
@blp.arguments(CompileIn)
@blp.response(201, CompilationOut)
@blp.alt_response(422, schema=ApiErrorSchema)
@blp.alt_response(409, schema=ApiErrorSchema)
def compile_(data):
    """Fill the report's draft from the tier below (cells the compiler overrode are kept)."""
    result, _comp = svc.fill(user=current_user, regime_code=data["regime"], agency_code=data["agency"], period_key=data["period"],
                             revision=data["revision"])
    return _out(submissions_svc.get_report(user=current_user, submission_id=result.submission.id))


@blp.route("/<int:sid>")
@blp.arguments(CellArgs, location="query")
@blp.response(200, CompilationOut)
@blp.alt_response(404, schema=ApiErrorSchema)
def get(args, sid):
    """What the latest version of a compiled report rests on; `?cell=` adds one cell's sources."""
    report = submissions_svc.get_report(user=current_user, submission_id=sid)
    if report.submission.latest is None or not report.submission.latest.compilation:
        abort(404)
    return _out(report, cell=args["cell"])
