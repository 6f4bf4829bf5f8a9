"""GET /api/v1/aggregates and /api/v1/completeness — the reporting center's figures as data."""
from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.domain.layout import dparts
from app.services import aggregation as svc
from app.services import center as center_svc
from app.services import completeness as completeness_svc

from . import csrf_for_cookie_sessions, require_login
from .schemas import ApiErrorSchema

blp = Blueprint("aggregates", __name__, description="Trung tâm báo cáo — aggregates and completeness")
blp.before_request(require_login)
blp.before_request(csrf_for_cookie_sessions)


class AggregateArgs(Schema):
    regime = fields.String(required=True, validate=validate.Length(min=1, max=40))
    period = fields.String(required=True, validate=validate.Length(min=1, max=40))
    agency = fields.String(load_default=svc.NATION, validate=validate.Length(max=40))
    indicator = fields.String(load_default="", validate=validate.Length(max=40))
    units = fields.String(load_default="as_reported", validate=validate.OneOf(["as_reported", "current"]))
    include = fields.String(load_default="", validate=validate.OneOf(["", "submitted"]))
    tier = fields.Integer(strict=True, load_default=None, allow_none=True)


class CompletenessArgs(Schema):
    regime = fields.String(required=True, validate=validate.Length(min=1, max=40))
    period = fields.String(required=True, validate=validate.Length(min=1, max=40))
    agency = fields.String(load_default=svc.NATION, validate=validate.Length(max=40))
    tier = fields.Integer(strict=True, load_default=None, allow_none=True)


class AggregateRow(Schema):
    indicator = fields.String()
    name_vi = fields.String()
    unit = fields.String()
    aggregation = fields.String()
    disaggregation = fields.Dict()
    value = fields.String(allow_none=True, metadata={"description": "exact decimal as text; null when nothing reported"})
    previous = fields.String(allow_none=True)
    same_period_last_year = fields.String(allow_none=True)
    reporting = fields.String()
    vs_previous = fields.Nested(lambda: ComparisonOut, allow_none=True, metadata={
        "description": "like for like: over the units that reported in both periods"})
    vs_same_period_last_year = fields.Nested(lambda: ComparisonOut, allow_none=True)


class ComparisonOut(Schema):
    current = fields.String(allow_none=True, metadata={"description": "this period, over the units in common"})
    before = fields.String(allow_none=True, metadata={"description": "the earlier period, over the same units"})
    change = fields.String(allow_none=True, metadata={"description": "percentage points when in_points, else current as % of before"})
    in_points = fields.Boolean()
    units_in_common = fields.Integer()
    units_now = fields.Integer()
    units_before = fields.Integer()
    partial = fields.Boolean(metadata={"description": "coverage differs between the periods: units were left out"})


def _comparison(c):
    if c is None:
        return None
    return {"current": _s(c.current), "before": _s(c.before), "change": _s(c.change), "in_points": c.points,
            "units_in_common": c.common, "units_now": c.now_units, "units_before": c.before_units, "partial": c.partial}


class ChildRow(Schema):
    agency = fields.String()
    name = fields.String()
    level = fields.String()
    values = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True))
    share = fields.String(allow_none=True)


class AggregateOut(Schema):
    regime = fields.String()
    period = fields.String()
    agency = fields.String()
    name = fields.String()
    units = fields.String()
    basis = fields.String()
    tier = fields.Integer()
    expected = fields.Integer()
    reporting = fields.Integer()
    items = fields.List(fields.Nested(AggregateRow))
    children = fields.List(fields.Nested(ChildRow))


class CompletenessOut(Schema):
    regime = fields.String()
    agency = fields.String()
    periods = fields.List(fields.Dict())
    agencies = fields.List(fields.Dict())


def _s(v):
    return None if v is None else format(v, "f")


@blp.route("/aggregates")
@blp.arguments(AggregateArgs, location="query")
@blp.response(200, AggregateOut)
@blp.alt_response(403, schema=ApiErrorSchema)
@blp.alt_response(422, schema=ApiErrorSchema)
def aggregates(args):
    v = center_svc.view(user=current_user, regime=args["regime"], period=args["period"], unit=args["agency"], units=args["units"],
                 basis="latest" if args["include"] == "submitted" else "approved", tier=args["tier"])
    items = []
    for r in v.rows:
        if args["indicator"] and r.indicator.code != args["indicator"]:
            continue
        for key, value in r.values.items():
            items.append({"indicator": r.indicator.code, "name_vi": r.indicator.name_vi, "unit": r.indicator.unit,
                          "aggregation": r.indicator.aggregation, "disaggregation": dparts(key), "value": _s(value),
                          "previous": _s(r.previous) if not key else None,
                          "same_period_last_year": _s(r.last_year) if not key else None, "reporting": _s(r.reporting),
                          "vs_previous": _comparison(r.vs_previous) if not key else None,
                          "vs_same_period_last_year": _comparison(r.vs_last_year) if not key else None})
    children = [{"agency": c.code, "name": c.name, "level": c.level, "share": _s(c.weight),
                 "values": {k: _s(val) for k, val in c.values.items() if not args["indicator"] or k == args["indicator"]}}
                for c in v.children]
    return {"regime": v.regime.code, "period": v.period.key, "agency": v.unit, "name": v.unit_name, "units": v.units,
            "basis": v.basis, "tier": v.tier, "expected": v.expected, "reporting": v.reporting, "items": items, "children": children}


@blp.route("/completeness")
@blp.arguments(CompletenessArgs, location="query")
@blp.response(200, CompletenessOut)
@blp.alt_response(403, schema=ApiErrorSchema)
def completeness(args):
    cv = completeness_svc.completeness(user=current_user, regime=args["regime"], period=args["period"], unit=args["agency"], tier=args["tier"])
    periods = [{"period": p.key, "expected": t.expected, "submitted": t.submitted, "on_time": t.on_time, "late": t.late,
                "returned": t.returned, "draft": t.draft, "missing": t.missing, "rate": format(t.rate, "f"),
                "on_time_rate": format(t.on_time_rate, "f")} for p in cv.periods for t in [cv.totals[p.key]]]
    agencies = [{"agency": r.code, "name": r.name, "level": r.level, "periods": r.cells} for r in cv.rows]
    return {"regime": args["regime"], "agency": args["agency"], "periods": periods, "agencies": agencies}


class ExportArgs(Schema):
    regime = fields.String(required=True, validate=validate.Length(min=1, max=40))
    period = fields.String(required=True, validate=validate.Length(min=1, max=40))
    agency = fields.String(load_default=svc.NATION, validate=validate.Length(max=40))
    units = fields.String(load_default="as_reported", validate=validate.OneOf(["as_reported", "current"]))


@blp.route("/exports/<any(pdf, xlsx, csv):fmt>")
@blp.arguments(ExportArgs, location="query")
@blp.doc(responses={"200": {"description": "the consolidated report (PDF), the consolidated view (Excel) or long-format CSV"}})
@blp.alt_response(403, schema=ApiErrorSchema)
@blp.alt_response(422, schema=ApiErrorSchema)
def export(args, fmt):
    """The consolidated report of (regime, period, agency) as PDF, Excel or CSV."""
    from io import BytesIO

    from flask import send_file

    from app.services import exports

    kw = dict(user=current_user, regime=args["regime"], period=args["period"], agency=args["agency"], units=args["units"])
    if fmt == "pdf":
        data, name, _ = exports.pdf(**kw)
        mimetype = "application/pdf"
    elif fmt == "xlsx":
        data, name = exports.xlsx_bytes(**kw)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        data, name = exports.csv_bytes(**kw)
        mimetype = "text/csv"
    return send_file(BytesIO(data), download_name=name, as_attachment=True, mimetype=mimetype)


class RangeArgs(Schema):
    regime = fields.String(required=True, validate=validate.Length(min=1, max=40))
    start = fields.String(required=True, validate=validate.Length(min=1, max=40))
    end = fields.String(load_default="", validate=validate.Length(max=40))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))
    background = fields.Boolean(load_default=False, metadata={
        "description": "export as a background job (202 and Location); done anyway above EXPORT_INTERACTIVE_VALUES values"})


def _export_job(fmt: str, args):
    """The export as a job when asked or when the range holds more than EXPORT_INTERACTIVE_VALUES
    values (about): 202 and where to follow it; None to answer in the request."""
    from flask import current_app

    from app.services import export_jobs

    if not args["background"] and export_jobs.export_values_estimate(regime=args["regime"], start=args["start"], end=args["end"]) \
            <= current_app.config.get("EXPORT_INTERACTIVE_VALUES", 500_000):
        return None
    return _queued(export_jobs.start_export(user=current_user, fmt=fmt, regime=args["regime"], start=args["start"], end=args["end"],
                                            dhis2_format=args["format"]))


class RegimeArg(Schema):
    regime = fields.String(required=True, validate=validate.Length(min=1, max=40))


@blp.route("/exports/sdmx/structure")
@blp.arguments(RegimeArg, location="query")
@blp.doc(responses={"200": {"description": "SDMX-ML 2.1 structure message: code lists, data structure definition, dataflow"}})
def sdmx_structure(args):
    from io import BytesIO

    from flask import send_file

    from app.services import interchange

    data, name = interchange.sdmx_structure(user=current_user, regime=args["regime"])
    return send_file(BytesIO(data), download_name=name, as_attachment=True, mimetype="application/vnd.sdmx.structure+xml;version=2.1")


@blp.route("/exports/sdmx/data")
@blp.arguments(RangeArgs, location="query")
@blp.doc(responses={"200": {"description": "SDMX-CSV 2.0 of the approved values in the period range (streamed)"}})
def sdmx_data(args):
    from flask import Response, stream_with_context

    from app.services import interchange

    center_svc.scope_of(current_user)
    if (queued := _export_job("sdmx", args)) is not None:
        return queued
    chunks, name = interchange.sdmx_data(user=current_user, regime=args["regime"], start=args["start"], end=args["end"])
    first = next(chunks)  # validation errors surface before streaming starts
    body = stream_with_context(_chain(first, chunks))
    return Response(body, mimetype="application/vnd.sdmx.data+csv;version=2.0.0",
                    headers={"Content-Disposition": f"attachment; filename={name}"})


def _chain(first, rest):
    yield first
    yield from rest


@blp.route("/exports/dhis2")
@blp.arguments(RangeArgs, location="query")
@blp.doc(responses={"200": {"description": "DHIS2 data value set (JSON or CSV), CODE id scheme"}})
def dhis2(args):
    from io import BytesIO

    from flask import send_file

    from app.services import interchange

    center_svc.scope_of(current_user)
    if (queued := _export_job("dhis2", args)) is not None:
        return queued
    data, name = interchange.dhis2(user=current_user, regime=args["regime"], start=args["start"], end=args["end"], fmt=args["format"])
    return send_file(BytesIO(data), download_name=name, as_attachment=True,
                     mimetype="text/csv" if args["format"] == "csv" else "application/json")


class ImportArgs(Schema):
    dry_run = fields.Boolean(load_default=False)
    regime = fields.String(load_default="", validate=validate.Length(max=40))


class ImportOut(Schema):
    dry_run = fields.Boolean()
    reports = fields.List(fields.Dict())


@blp.route("/imports/sdmx", methods=["POST"])
@blp.arguments(ImportArgs, location="query")
@blp.response(200, ImportOut)
@blp.alt_response(202, description="a file above IMPORT_INTERACTIVE_BYTES: imported by a background job ({job, status, …}; Location: /api/v1/jobs/<id>)")
@blp.alt_response(422, schema=ApiErrorSchema)
def import_sdmx(args):
    """SDMX-CSV 2.0 (the body, text/csv) into draft versions: all or nothing; `dry_run=true` says what would change."""
    from flask import request

    from app.services import import_jobs, interchange

    body = request.get_data()
    if not import_jobs.interactive(body):
        return _queued(import_jobs.enqueue_import(user=current_user, fmt="sdmx", regime="", body=body, content_type="text/csv",
                                                  dry_run=args["dry_run"]))
    result = interchange.import_sdmx(user=current_user, text=body.decode("utf-8-sig", errors="replace"), dry_run=args["dry_run"])
    return {"dry_run": result.dry_run, "reports": result.reports}


def _queued(job):
    """A file above the interactive size: imported by a background job (202, and where to follow it)."""
    from .jobs import queued

    return queued(job)


@blp.route("/imports/dhis2", methods=["POST"])
@blp.arguments(ImportArgs, location="query")
@blp.response(200, ImportOut)
@blp.alt_response(202, description="a file above IMPORT_INTERACTIVE_BYTES: imported by a background job ({job, status, …}; Location: /api/v1/jobs/<id>)")
@blp.alt_response(422, schema=ApiErrorSchema)
def import_dhis2(args):
    """A DHIS2 data value set (JSON or CSV, CODE id scheme) for `regime` into draft versions."""
    from flask import request

    from app.services import import_jobs, interchange
    from app.services.errors import Invalid

    if not args["regime"]:
        raise Invalid("Cần tham số regime", details=[{"field": "regime", "message": "Cần mã chế độ báo cáo"}])
    body = request.get_data()
    if not import_jobs.interactive(body):
        return _queued(import_jobs.enqueue_import(user=current_user, fmt="dhis2", regime=args["regime"], body=body,
                                                  content_type=request.content_type or "application/json", dry_run=args["dry_run"]))
    result = interchange.import_dhis2(user=current_user, regime=args["regime"], body=body,
                                      content_type=request.content_type or "application/json", dry_run=args["dry_run"])
    return {"dry_run": result.dry_run, "reports": result.reports}


class MapArgs(Schema):
    regime = fields.String(required=True, validate=validate.Length(min=1, max=40))
    period = fields.String(required=True, validate=validate.Length(min=1, max=40))
    indicator = fields.String(load_default="", validate=validate.Length(max=40))
    units = fields.String(load_default="as_reported", validate=validate.OneOf(["as_reported", "current"]))
    include = fields.String(load_default="", validate=validate.OneOf(["", "submitted"]))


@blp.route("/maps")
@blp.arguments(MapArgs, location="query")
@blp.response(200, {"type": "object", "description": "GeoJSON FeatureCollection: one feature per province (simplified "
                                                      "outline), properties code, name, value (exact decimal as text or null)"},
              content_type="application/geo+json")
@blp.alt_response(404, schema=ApiErrorSchema)
def map_features(args):
    """The reporting center's map as data: each province's figure for the indicator, with its
    outline (the 63 provinces for a period before 1 July 2025 as reported, else the 34)."""
    from flask import jsonify

    from app.adapters import maps
    from app.services import center_map
    from app.services.errors import NotFound

    v = center_svc.view(user=current_user, regime=args["regime"], period=args["period"], unit=svc.NATION, units=args["units"],
                        basis="latest" if args["include"] == "submitted" else "approved")
    if v.unit != svc.NATION:
        raise NotFound("Bản đồ các tỉnh, thành phố chỉ có ở cấp toàn quốc")
    edition, values = center_map.map_of(v, args["indicator"])
    indicator = args["indicator"] if args["indicator"] in v.definition.indicator_codes else (v.rows[0].indicator.code if v.rows else "")
    body = maps.features(edition, values)
    body.update({"regime": v.regime.code, "period": v.period.key, "indicator": indicator, "units": v.units,
                 "attribution": maps.ATTRIBUTION})
    response = jsonify(body)
    response.mimetype = "application/geo+json"
    return response
