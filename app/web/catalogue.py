"""Catalogue pages: regimes (with the period calendar) and the indicator library."""
from __future__ import annotations

from datetime import date

from flask import render_template, request
from flask_login import login_required

from app.services import agencies as agency_svc
from app.services import catalogue as svc
from app.services.errors import Invalid

from . import bp
from .paging import paginate

FREQUENCIES = ["weekly", "monthly", "quarterly", "semiannual", "nine_month", "annual", "ad_hoc"]
TYPES = ["periodic", "thematic", "ad_hoc"]


@bp.route("/regimes")
@login_required
def regimes():
    args = {k: request.args.get(k, "").strip()[:200] for k in ("q", "issuing_agency", "type", "frequency")}
    page = paginate(svc.list_regimes(**args))
    issuers = svc.issuing_agencies()
    return render_template("catalogue/regimes.html", page=page, args=args, issuers=issuers,
                           frequencies=FREQUENCIES, types=TYPES)


@bp.route("/regimes/<code>")
@login_required
def regime(code):
    row = svc.get_regime(code=code)
    version_arg = request.args.get("version", "")
    version = svc.get_version(regime=row, version=int(version_arg) if version_arg.isdigit() else None)
    definition, catalogue = svc.regime_definition(version)
    year = _year_arg(definition)
    calendar = svc.regime_calendar(regime=definition, first=date(year, 1, 1), last=date(year, 12, 31))
    receivers = {t.receiver for t in definition.tiers}
    names = agency_svc.names_for(receivers | {definition.issuing_agency})
    return render_template("catalogue/regime.html", regime=row, version=version, d=definition, cat=catalogue,
                           calendar=calendar, year=year, names=names)


def _year_arg(definition) -> int:
    raw = request.args.get("year", "")
    if not raw:
        return date.today().year
    if not raw.isdigit() or not 2000 <= int(raw) <= 2100:
        raise Invalid(f"Năm “{raw[:10]}” không hợp lệ")
    return int(raw)


@bp.route("/indicators")
@login_required
def indicators():
    q = request.args.get("q", "").strip()[:200]
    return render_template("catalogue/indicators.html", page=paginate(svc.list_indicators(q=q)), q=q,
                           disaggs=svc.disaggregation_names())


@bp.route("/indicators/<code>")
@login_required
def indicator(code):
    row = svc.get_indicator(code=code)
    return render_template("catalogue/indicator.html", ind=row, used_by=svc.regimes_using(indicator_code=code),
                           disaggs=svc.disaggregation_names())
