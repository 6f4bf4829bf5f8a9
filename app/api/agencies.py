"""GET /api/v1/agencies?level=&parent=&q=&on= and /<code>."""
from __future__ import annotations

from datetime import date

from flask_smorest import Blueprint

from app.services import agencies as svc

from . import require_login
from .common import envelope, page_of
from .schemas import AgencyListArgs, AgencySchema, ApiErrorSchema

blp = Blueprint("agencies", __name__, description="Cơ quan, đơn vị — the agency map")
blp.before_request(require_login)


@blp.route("")
@blp.arguments(AgencyListArgs, location="query")
@blp.response(200, envelope(AgencySchema, "AgencyPage"))
@blp.alt_response(404, schema=ApiErrorSchema)
@blp.alt_response(422, schema=ApiErrorSchema)
def list_agencies(args):
    stmt = svc.search_agencies(q=args["q"], level=args["level"], parent=args["parent"],
                               on=args["on"] or date.today(), include_closed=args["include_closed"])
    return page_of(stmt, args["page"], args["per_page"])


@blp.route("/<code>")
@blp.response(200, AgencySchema)
@blp.alt_response(404, schema=ApiErrorSchema)
def get_agency(code):
    return svc.get_agency(code=code)
