"""GET /api/v1/indicators and /<code>."""
from __future__ import annotations

from flask_smorest import Blueprint

from app.services import catalogue as svc

from . import require_login
from .common import envelope, page_of
from .schemas import ApiErrorSchema, IndicatorListArgs, IndicatorSchema

blp = Blueprint("indicators", __name__, description="Chỉ tiêu — indicators")
blp.before_request(require_login)


@blp.route("")
@blp.arguments(IndicatorListArgs, location="query")
@blp.response(200, envelope(IndicatorSchema, "IndicatorPage"))
def list_indicators(args):
    return page_of(svc.list_indicators(q=args["q"]), args["page"], args["per_page"])


@blp.route("/<code>")
@blp.response(200, IndicatorSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
def get_indicator(code):
    return svc.get_indicator(code=code)
