"""The agency map: search, browse the hierarchy, and the 2025 lineage."""
from __future__ import annotations

from datetime import date

from flask import render_template, request
from flask_login import login_required

from app.models import LEVEL_ORDER
from app.services import agencies as svc
from app.services.errors import Invalid

from . import bp
from .paging import paginate


@bp.route("/agencies")
@login_required
def agencies():
    q = request.args.get("q", "").strip()[:200]
    level = request.args.get("level", "")
    on = _date_arg("on") or date.today()
    closed = request.args.get("closed") == "1"
    parent = "" if (q or level) else "CP"
    page = paginate(svc.search_agencies(q=q, level=level, parent=parent, on=on, include_closed=closed))
    return render_template("agencies/list.html", page=page, q=q, level=level, on=on, closed=closed,
                           levels=[lv.value for lv in LEVEL_ORDER])


@bp.route("/agencies/pick")
@login_required
def agencies_pick():
    """The agency picker's suggestions (JSON): name, province and level for what was typed."""
    from flask import jsonify

    from .labels import label

    return jsonify([{"code": p.code, "name": p.name, "province": p.province, "level": label("level", p.level),
                     "label": f"{p.name} — {p.province or label('level', p.level)}"}
                    for p in svc.pick(q=request.args.get("q", ""))])


@bp.route("/agencies/<code>")
@login_required
def agency(code):
    row = svc.get_agency(code=code)
    on = _date_arg("on") or (row.valid_to if row.valid_to and row.valid_to < date.today() else date.today())
    before, after = svc.lineage_of(agency=row)
    parents = sorted(row.parent_links, key=lambda link: link.valid_from or date.min)
    current = svc.current_units_for(code=code, on=date.today()) if after else {}
    return render_template("agencies/detail.html", a=row, on=on, children=svc.children_of(agency=row, on=on),
                           parents=parents, before=before, after=after, current=current,
                           current_names=svc.names_for(current))


def _date_arg(name: str) -> date | None:
    raw = request.args.get(name, "")
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"Ngày “{raw[:20]}” không hợp lệ (YYYY-MM-DD)") from None
