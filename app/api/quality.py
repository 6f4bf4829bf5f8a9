"""The reporting center's closer looks as data: values flagged by the quality check, the analyst's
follow-ups (mark, comment, ask the reporter, close) and KPI picks."""
from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.services import center_kpi as kpi_svc
from app.services import quality as svc

from . import csrf_for_cookie_sessions, require_login
from .schemas import ApiErrorSchema

blp = Blueprint("quality", __name__, description="Trung tâm báo cáo — chất lượng số liệu, theo dõi, KPI")
blp.before_request(require_login)
blp.before_request(csrf_for_cookie_sessions)


def _s(v):
    return None if v is None else format(v, "f")


class QualityArgs(Schema):
    regime = fields.String(required=True, validate=validate.Length(min=1, max=40))
    period = fields.String(required=True, validate=validate.Length(min=1, max=40))
    include = fields.String(load_default="", validate=validate.OneOf(["", "submitted"]))
    tier = fields.Integer(strict=True, load_default=None, allow_none=True)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000),
                          metadata={"description": "100 flags a page, furthest out first"})


class FlagOut(Schema):
    agency = fields.String()
    agency_name = fields.String()
    indicator = fields.String()
    indicator_name = fields.String()
    disaggregation_key = fields.String()
    value = fields.String(metadata={"description": "exact decimal as text"})
    expected = fields.String(allow_none=True, metadata={"description": "what the history (or the peers) suggested"})
    score = fields.Float(metadata={"description": "robust z-score: distance in MAD-based standard deviations"})
    basis = fields.String(metadata={"description": "seasonal (own change from last year) | recent (own recent values) | peers"})
    own_change = fields.Float(allow_none=True, metadata={"description": "ratio − 1, or percentage points for percentages"})
    peer_change = fields.Float(allow_none=True)
    reason = fields.String()
    explanation = fields.String(metadata={"description": "what the reporter wrote beside the value"})
    follow_up = fields.Integer(allow_none=True)


class QualityOut(Schema):
    regime = fields.String()
    period = fields.String()
    tier = fields.Integer()
    checked = fields.Integer(metadata={"description": "values judged"})
    total = fields.Integer(metadata={"description": "flags the caller may see, on every page"})
    page = fields.Integer()
    pages = fields.Integer()
    flags = fields.List(fields.Nested(FlagOut))


@blp.route("/quality")
@blp.arguments(QualityArgs, location="query")
@blp.response(200, QualityOut)
@blp.alt_response(202, description="a large period: the pass runs as a background job ({job, status, step}); ask again")
@blp.alt_response(403, schema=ApiErrorSchema)
@blp.alt_response(422, schema=ApiErrorSchema)
def quality(args):
    v = svc.scan_or_job(user=current_user, regime=args["regime"], period=args["period"], tier=args["tier"],
                        basis="latest" if args["include"] == "submitted" else "approved", page=args["page"])
    if not isinstance(v, svc.QualityView):  # a large period: running off the request — ask again
        from flask import jsonify

        return jsonify({"job": v.id, "status": v.status, "step": v.step}), 202
    return {"regime": v.regime.code, "period": v.period.key, "tier": v.tier, "checked": v.checked, "total": v.total, "page": v.page,
            "pages": v.pages, "flags": [
        {"agency": f.agency, "agency_name": f.agency_name, "indicator": f.indicator, "indicator_name": f.indicator_name,
         "disaggregation_key": f.dkey, "value": _s(f.value), "expected": _s(f.expected), "score": f.score, "basis": f.basis,
         "own_change": f.own_change, "peer_change": f.peer_change, "reason": f.reason, "explanation": f.explanation,
         "follow_up": f.follow_up.id if f.follow_up else None} for f in v.flags]}


class FollowUpIn(Schema):
    regime = fields.String(required=True, validate=validate.Length(min=1, max=40))
    period = fields.String(required=True, validate=validate.Length(min=1, max=40))
    agency = fields.String(required=True, validate=validate.Length(min=1, max=40))
    indicator = fields.String(required=True, validate=validate.Length(min=1, max=40))
    disaggregation_key = fields.String(load_default="", validate=validate.Length(max=200))
    comment = fields.String(load_default="", validate=validate.Length(max=svc.MAX_COMMENT))


class ActionIn(Schema):
    action = fields.String(required=True, validate=validate.OneOf(["comment", "ask", "close", "reopen"]))
    text = fields.String(load_default="", validate=validate.Length(max=svc.MAX_COMMENT))


class CommentOut(Schema):
    action = fields.String()
    text = fields.String()
    at = fields.DateTime()
    author = fields.String()


class FollowUpOut(Schema):
    id = fields.Integer()
    regime = fields.String()
    period = fields.String()
    agency = fields.String()
    indicator = fields.String()
    disaggregation_key = fields.String()
    value = fields.String(allow_none=True)
    expected = fields.String(allow_none=True)
    reason = fields.String()
    status = fields.String(metadata={"description": "open | asked | closed"})
    comments = fields.List(fields.Nested(CommentOut))


class StatusArgs(Schema):
    status = fields.String(load_default="", validate=validate.OneOf(["", "open", "asked", "closed"]))


def _follow_up(f) -> dict:
    return {"id": f.id, "regime": f.regime.code, "period": f.period_key, "agency": f.agency.code, "indicator": f.indicator,
            "disaggregation_key": f.dkey, "value": _s(f.value), "expected": _s(f.expected), "reason": f.reason, "status": f.status,
            "comments": [{"action": c.action, "text": c.text, "at": c.at, "author": c.author.username} for c in f.comments]}


@blp.route("/follow-ups")
@blp.arguments(StatusArgs, location="query")
@blp.response(200, FollowUpOut(many=True))
def follow_ups(args):
    """The follow-ups the caller owns, open ones first."""
    return [_follow_up(f) for f in svc.mine(user=current_user, status=args["status"])]


@blp.route("/follow-ups", methods=["POST"])
@blp.arguments(FollowUpIn)
@blp.response(201, FollowUpOut)
@blp.alt_response(403, schema=ApiErrorSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
def follow(args):
    """Mark a reported value for follow-up (the value and the reason are read from what is stored)."""
    return _follow_up(svc.follow(user=current_user, regime=args["regime"], period=args["period"], agency=args["agency"],
                                 indicator=args["indicator"], dkey=args["disaggregation_key"], comment=args["comment"]))


@blp.route("/follow-ups/<int:follow_up>/actions", methods=["POST"])
@blp.arguments(ActionIn)
@blp.response(200, FollowUpOut)
@blp.alt_response(404, schema=ApiErrorSchema)
@blp.alt_response(422, schema=ApiErrorSchema)
def act(args, follow_up):
    """comment | ask (the reporter is told, in the app and by mail, with a link to the cell) | close | reopen."""
    return _follow_up(svc.act(user=current_user, follow_up=follow_up, action=args["action"], text=args["text"]))


class KpiIn(Schema):
    regime = fields.String(required=True, validate=validate.Length(min=1, max=40))
    indicator = fields.String(required=True, validate=validate.Length(min=1, max=40))


class KpiOut(Schema):
    id = fields.Integer()
    regime = fields.String()
    indicator = fields.String()
    name = fields.String()
    unit = fields.String()
    period = fields.String(allow_none=True, metadata={"description": "the latest period with meaningful coverage"})
    value = fields.String(allow_none=True)
    change_previous = fields.String(allow_none=True, metadata={"description": "like for like; points for percentages"})
    change_last_year = fields.String(allow_none=True)
    in_points = fields.Boolean()
    reporting = fields.Integer()
    expected = fields.Integer()
    trend = fields.List(fields.String(allow_none=True), metadata={"description": "the last 12 periods, oldest first"})


@blp.route("/kpis")
@blp.response(200, KpiOut(many=True))
def kpis():
    out = []
    for k in kpi_svc.kpis(user=current_user):
        out.append({"id": k.pick.id, "regime": k.regime.code, "indicator": k.pick.indicator, "name": k.name, "unit": k.unit,
                    "period": k.period.key if k.period else None, "value": _s(k.value),
                    "change_previous": _s(k.vs_previous.change) if k.vs_previous else None,
                    "change_last_year": _s(k.vs_last_year.change) if k.vs_last_year else None,
                    "in_points": bool(k.vs_previous and k.vs_previous.points), "reporting": k.reporting, "expected": k.expected,
                    "trend": [_s(v) for v in k.trend]})
    return out


@blp.route("/kpis", methods=["POST"])
@blp.arguments(KpiIn)
@blp.response(201, KpiIn)
@blp.alt_response(422, schema=ApiErrorSchema)
def kpi_add(args):
    pick = kpi_svc.add(user=current_user, regime=args["regime"], indicator=args["indicator"])
    return {"regime": pick.regime.code, "indicator": pick.indicator}


@blp.route("/kpis/<int:pick>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(404, schema=ApiErrorSchema)
def kpi_remove(pick):
    kpi_svc.remove(user=current_user, pick=pick)
