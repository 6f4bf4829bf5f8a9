"""GET /api/v1/regimes, /<code>, /<code>/periods, /<code>/periods/<key>."""
from __future__ import annotations

from datetime import date, timedelta

from flask_smorest import Blueprint

from app.domain.catalogue import RegimeDef
from app.services import catalogue as svc
from app.services.errors import Invalid

from . import require_login
from .common import PeriodList, envelope, page_of, period_payload
from .schemas import (
    ApiErrorSchema,
    PeriodRangeArgs,
    PeriodSchema,
    RegimeDetailSchema,
    RegimeListArgs,
    RegimeSummarySchema,
)
from .submissions import TemplateArgs, template_response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
blp = Blueprint("regimes", __name__, description="Chế độ báo cáo — reporting regimes")
blp.before_request(require_login)


@blp.route("")
@blp.arguments(RegimeListArgs, location="query")
@blp.response(200, envelope(RegimeSummarySchema, "RegimePage"))
@blp.alt_response(422, schema=ApiErrorSchema)
def list_regimes(args):
    stmt = svc.list_regimes(q=args["q"], issuing_agency=args["issuing_agency"], type=args["type"], frequency=args["frequency"])
    return page_of(stmt, args["page"], args["per_page"])


@blp.route("/<code>")
@blp.response(200, RegimeDetailSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
def get_regime(code):
    regime = svc.get_regime(code=code)
    version = regime.current_version
    definition, _ = svc.regime_definition(version)
    return regime_detail(regime, version, definition)


def regime_detail(regime, version, d: RegimeDef) -> dict:
    return {
        "code": regime.code, "name_vi": d.name_vi, "name_en": d.name_en, "type": d.type,
        "frequency": d.frequency.value, "issuing_agency_code": d.issuing_agency, "legal_basis": d.legal_basis,
        "valid_from": d.valid_from, "valid_to": d.valid_to, "version": version.version, "content": d.content,
        "content_kind": d.content_kind, "sending_methods": list(d.sending_methods),
        "cutoff_rule": {"rule": d.cutoff.kind.value, "day": d.cutoff.anchor_day},
        "tiers": [{"name": t.name, "receiver": t.receiver, "deadline_rule": t.deadline.describe_vi(),
                   "reporters": {"levels": list(t.reporters.levels), "department_kinds": list(t.reporters.department_kinds),
                                 "agencies": list(t.reporters.agencies), "except_agencies": list(t.reporters.except_agencies),
                                 "except_department_kinds": list(t.reporters.except_department_kinds)}} for t in d.tiers],
        "outline": [{"code": s.code, "title": s.title, "guidance": s.guidance} for s in d.outline],
        "forms": [{"code": f.code, "title": f.title, "disaggregations": list(f.disaggregations), "columns": list(f.columns),
                   "rows": [{"row": r.row, "indicator": r.indicator, "parent": r.parent, "of_which": r.of_which} for r in f.rows],
                   "rules": [{"check": rd.rule.text, "severity": rd.severity, "message": rd.message} for rd in f.rules]}
                  for f in d.forms],
        "process_guidance": d.process_guidance, "published_at": version.published_at, "content_hash": version.content_hash,
    }


@blp.route("/<code>/periods")
@blp.arguments(PeriodRangeArgs, location="query")
@blp.response(200, PeriodList)
@blp.alt_response(422, schema=ApiErrorSchema)
def list_periods(args, code):
    definition, _ = svc.regime_definition(svc.get_regime(code=code).current_version)
    today = date.today()
    first = args["from_"] or today - timedelta(days=366)
    last = args["to"] or today + timedelta(days=366)
    if last < first:
        raise Invalid("“to” phải sau “from”")
    rows = svc.regime_calendar(regime=definition, first=first, last=last)
    return {"items": [period_payload(r, definition.tiers) for r in rows]}


@blp.route("/<code>/periods/<key>")
@blp.response(200, PeriodSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
@blp.alt_response(422, schema=ApiErrorSchema)
def get_period(code, key):
    definition, _ = svc.regime_definition(svc.get_regime(code=code).current_version)
    return period_payload(svc.regime_period(regime=definition, key=key), definition.tiers)


@blp.route("/<code>/template.xlsx")
@blp.arguments(TemplateArgs, location="query")
@blp.doc(responses={"200": {"description": "the Excel template, pre-filled",
                            "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}})
@blp.alt_response(404, schema=ApiErrorSchema)
def template(args, code):
    """The Excel template of (regime, agency, period): pre-filled, only input cells unlocked."""
    return template_response(code, args["agency"], args["period"])
