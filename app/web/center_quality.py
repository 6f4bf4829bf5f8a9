"""Reporting center pages for looking closer: data quality (values that depart from their history
or their peers) and the analyst's follow-ups, the KPI page, and small multiples by province."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from app.adapters import charts
from app.i18n import vn_period
from app.services import center_kpi as kpi_svc
from app.services import center_nav as nav_svc
from app.services import quality as svc
from app.services.errors import Invalid, NotFound
from app.web.messages import flash

from . import bp
from .forms import EmptyForm


def _arg(name: str, size: int = 40) -> str:
    return (request.values.get(name) or "")[:size]


@bp.route("/center/<regime>/<period>/quality")
@login_required
def center_quality(regime, period):
    basis = "latest" if request.args.get("include") == "submitted" else "approved"
    tier = _arg("tier", 3)
    page = _arg("page", 6)
    view = svc.scan_or_job(user=current_user, regime=regime, period=period, basis=basis, tier=int(tier) if tier.isdigit() else None,
                           page=int(page) if page.isdigit() else 1)
    if not isinstance(view, svc.QualityView):  # a large period: the pass runs off the request; this page follows it
        return render_template("center/quality_job.html", job=view, regime=regime, period=period), 202
    return render_template("center/quality.html", q=view, form=EmptyForm(), include=request.args.get("include", ""),
                           periods=nav_svc.periods_with_data(view.regime))


@bp.route("/center/<regime>/<period>/quality/follow", methods=["POST"])
@login_required
def center_quality_follow(regime, period):
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("web.center_quality", regime=regime, period=period))
    try:
        fu = svc.follow(user=current_user, regime=regime, period=period, agency=_arg("agency"), indicator=_arg("indicator"),
                        dkey=_arg("dkey", 200), comment=_arg("comment", svc.MAX_COMMENT + 1))
    except Invalid as exc:
        flash(str(exc), "danger")
        return redirect(url_for("web.center_quality", regime=regime, period=period))
    flash(_("Đã đưa vào danh sách theo dõi."), "success")
    return redirect(url_for("web.center_follow_up", follow_up=fu.id))


@bp.route("/center/follow-ups")
@login_required
def center_follow_ups():
    status = _arg("status", 12)
    return render_template("center/follow_ups.html", items=svc.mine(user=current_user, status=status), status=status)


@bp.route("/center/follow-ups/<int:follow_up>", methods=["GET", "POST"])
@login_required
def center_follow_up(follow_up):
    if request.method == "POST":
        if EmptyForm().validate_on_submit():
            try:
                svc.act(user=current_user, follow_up=follow_up, action=_arg("action", 12), text=_arg("text", svc.MAX_COMMENT + 1))
                flash({"ask": _("Đã gửi đề nghị kiểm tra tới đơn vị."), "close": _("Đã đóng mục theo dõi."),
                       "reopen": _("Đã mở lại mục theo dõi.")}.get(_arg("action", 12), _("Đã ghi trao đổi.")), "success")
            except Invalid as exc:
                flash(str(exc), "danger")
        return redirect(url_for("web.center_follow_up", follow_up=follow_up))
    fu = svc.get(user=current_user, follow_up=follow_up)
    from app.services.catalogue import regime_definition

    _definition, cat = regime_definition(fu.regime.current_version)
    ind = cat.indicators.get(fu.indicator)
    sub = svc.submission_of(fu)
    return render_template("center/follow_up.html", fu=fu, indicator=ind, form=EmptyForm(), submission=sub)


@bp.route("/center/kpis", methods=["GET", "POST"])
@login_required
def center_kpis():
    if request.method == "POST":
        if EmptyForm().validate_on_submit():
            try:
                regime, _sep, indicator = _arg("pick", 90).partition("|")
                kpi_svc.add(user=current_user, regime=regime, indicator=indicator)
            except (Invalid, NotFound) as exc:
                flash(str(exc), "danger")
        return redirect(url_for("web.center_kpis"))
    items = kpi_svc.kpis(user=current_user)
    lines = [Markup(charts.sparkline_svg(k.trend, label=_("%(name)s, %(n)s kỳ gần nhất", name=k.name, n=len(k.trend))))
             for k in items]
    from app.services.catalogue import regime_definition

    choices = []
    for r in nav_svc.regimes_with_data():
        definition, cat = regime_definition(r.current_version)
        choices.append((r, [cat.indicators[c] for c in definition.indicator_codes]))
    return render_template("center/kpis.html", items=list(zip(items, lines, strict=True)), choices=choices, form=EmptyForm())


@bp.route("/center/kpis/<int:pick>/remove", methods=["POST"])
@login_required
def center_kpi_remove(pick):
    if EmptyForm().validate_on_submit():
        kpi_svc.remove(user=current_user, pick=pick)
    return redirect(url_for("web.center_kpis"))


@bp.route("/center/<regime>/<period>/multiples")
@login_required
def center_multiples(regime, period):
    from app.services.catalogue import regime_definition
    from app.services.center import _regime

    r = _regime(regime)
    definition, cat = regime_definition(r.current_version)
    indicator = _arg("indicator") or definition.indicator_codes[0]
    shown, items = kpi_svc.multiples(user=current_user, regime=regime, indicator=indicator, end=period)
    ind = cat.indicators[indicator]
    lines = [Markup(charts.sparkline_svg(m.values, second=m.last_year or None, width=180, height=48,
                                         label=_("%(name)s: %(ind)s, %(a)s – %(b)s", name=m.name, ind=ind.name_vi,
                                                 a=vn_period(shown[0]), b=vn_period(shown[-1])))) for m in items]
    return render_template("center/multiples.html", regime=r, period=period, shown=shown, items=list(zip(items, lines, strict=True)),
                           indicator=ind, indicators=[cat.indicators[c] for c in definition.indicator_codes])
