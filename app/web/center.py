"""Reporting center pages: the national view and drill-down, provinces side by side, charts,
completeness and timeliness; as reported or in today's units."""
from __future__ import annotations

from flask import Response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.adapters import charts
from app.domain.numbers import format_vn
from app.services import aggregation as svc
from app.services import center as center_svc
from app.services import center_map as map_svc
from app.services import center_nav as nav_svc
from app.services import completeness as completeness_svc
from app.services.errors import Invalid, NotFound

from . import bp


def _args():
    units = request.args.get("units", "as_reported")
    basis = "latest" if request.args.get("include") == "submitted" else "approved"
    tier = request.args.get("tier", "")
    return {"unit": request.args.get("unit", svc.NATION)[:40], "units": units, "basis": basis,
            "tier": int(tier) if tier.isdigit() else None}


@bp.route("/center")
@login_required
def center():
    center_svc.scope_of(current_user)
    regimes = nav_svc.regimes_with_data()
    chosen = request.args.get("regime") or (regimes[0].code if regimes else "")
    regime = next((r for r in regimes if r.code == chosen), None)
    if regime is None:
        raise NotFound("Chưa có chế độ báo cáo nào")
    picked = request.args.get("period", "")[:40]
    if picked:  # the period picker
        return redirect(url_for("web.center_view", regime=regime.code, period=picked, **{
            k: v for k, v in request.args.items() if k in ("unit", "units", "include")}))
    period = nav_svc.latest_period(regime)
    if period is None:
        return render_template("center/empty.html", regimes=regimes, regime=regime)
    return redirect(url_for("web.center_view", regime=regime.code, period=period))


@bp.route("/center/<regime>/<period>")
@login_required
def center_view(regime, period):
    args = _args()
    sort = request.args.get("sort", "")[:40]
    picked = [c[:40] for c in request.args.getlist("col")][:200]
    shown = None if "all" in picked else {*(picked or center_svc.shown_first(regime)), sort, request.args.get("chart", "")[:40]}
    v = center_svc.view(user=current_user, regime=regime, period=period, child_indicators=shown, **args)
    children = v.children
    if sort in v.definition.indicator_codes:
        children = sorted(children, key=lambda c: (c.values.get(sort) is None, -(c.values.get(sort) or 0)))
    chart = request.args.get("chart") or (v.rows[0].indicator.code if v.rows else "")
    # the comparison's columns: the indicators the analyst chose (every one with "all"), else the first six
    if "all" in picked:
        columns = list(v.rows)
    else:
        columns = [r for r in v.rows if r.indicator.code in picked] or list(v.rows[:6])
    map_svg = ""
    if v.unit == svc.NATION and v.children:  # the provinces on a map; a province opens its own page
        from markupsafe import Markup

        base = {k: val for k, val in request.args.items() if k in ("units", "include")}
        map_svg = Markup(map_svc.map_svg(v, chart, link=lambda code: url_for(
            "web.center_view", regime=v.regime.code, period=v.period.key, unit=code, **base)))
    return render_template("center/view.html", v=v, children=children, sort=sort, chart=chart, args=args, columns=columns,
                           map_svg=map_svg, formed=nav_svc.formed_after(v.unit, v.period, v.definition.cutoff) if args["units"] == "as_reported" else None,
                           trail=nav_svc.breadcrumb(v.unit), periods=nav_svc.periods_with_data(v.regime),
                           chosen={r.indicator.code for r in columns}, regimes=nav_svc.regimes_with_data(),
                           include=request.args.get("include", ""))


@bp.route("/center/<regime>/<period>/map.svg")
@login_required
def center_map_svg(regime, period):
    """The choropleth alone (for the PDF and for saving): one indicator by province."""
    v = center_svc.view(user=current_user, regime=regime, period=period, **{**_args(), "unit": svc.NATION})
    if v.unit != svc.NATION:
        raise NotFound("Bản đồ các tỉnh, thành phố chỉ có ở cấp toàn quốc")
    return Response(map_svc.map_svg(v, request.args.get("indicator", "")[:40]), mimetype="image/svg+xml")


@bp.route("/center/<regime>/<period>/tiers")
@login_required
def center_tiers(regime, period):
    """Primary and compiled figures side by side, per province, with the difference."""
    from app.services import chain

    basis = "latest" if request.args.get("include") == "submitted" else "approved"
    comparison = chain.compare_tiers(user=current_user, regime=regime, period=period,
                                     indicator=request.args.get("indicator", "")[:40], basis=basis)
    return render_template("center/tiers.html", c=comparison, regime=regime, period=period)


def _completeness(regime: str, period: str):
    """(unit, tier as given, the completeness view) for the page and its Excel export."""
    unit = request.args.get("unit", svc.NATION)[:40]
    tier = request.args.get("tier", "")[:3]
    return unit, tier, completeness_svc.completeness(user=current_user, regime=regime, period=period, unit=unit,
                                                     tier=int(tier) if tier.isdigit() else None)


@bp.route("/center/<regime>/<period>/completeness")
@login_required
def center_completeness(regime, period):
    unit, tier, cv = _completeness(regime, period)
    page = request.args.get("page", "1")
    groups, pages = completeness_svc.grouped(cv, page=int(page) if page.isdigit() else 1)
    return render_template("center/completeness.html", cv=cv, regime=regime, period=period, unit=unit, groups=groups, pages=pages,
                           page=min(max(int(page) if page.isdigit() else 1, 1), pages), tier=tier)


@bp.route("/center/<regime>/<period>/completeness.xlsx")
@login_required
def center_completeness_xlsx(regime, period):
    """Every unit's reporting status, grouped by province, as Excel."""
    unit, _tier, cv = _completeness(regime, period)
    data = completeness_svc.workbook(cv, title=f"Tình hình gửi báo cáo {regime} — {cv.periods[-1].label_vi if cv.periods else period}")
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{regime}_{unit}_{period}_tinh-hinh-gui.xlsx"'})


@bp.route("/center/<regime>/trend.svg")
@login_required
def center_trend_svg(regime):
    indicator = request.args.get("indicator", "")
    unit = request.args.get("unit", svc.NATION)
    basis = "latest" if request.args.get("include") == "submitted" else "approved"
    points = center_svc.trend(user=current_user, regime=regime, indicator=indicator, unit=unit, end=request.args.get("period") or None,
                              basis=basis, periods=24)  # twelve periods, and the twelve before for the same period last year
    per_year = points[-1][0].frequency.periods_per_year if points else 12
    shown = points[-12:]
    earlier = {p.key: val for p, val in points}
    last_year = [earlier.get(p.same_period_last_year().key) for p, _ in shown] if per_year > 1 else None
    v_name, v_unit = _indicator_label(regime, indicator)
    svg = charts.trend_svg([p.label_vi for p, _ in shown], [val for _, val in shown], v_name, v_unit, last_year=last_year)
    return Response(svg, mimetype="image/svg+xml")


@bp.route("/center/<regime>/<period>/bars.svg")
@login_required
def center_bars_svg(regime, period):
    args = _args()
    indicator = request.args.get("indicator", "")
    v = center_svc.view(user=current_user, regime=regime, period=period, **args)
    if indicator not in v.definition.indicator_codes:
        raise Invalid(f"Chỉ tiêu “{indicator}” không có trong chế độ")
    ind = v.catalogue.indicators[indicator]
    svg = charts.bar_svg([c.name for c in v.children], [c.values.get(indicator) for c in v.children],
                         f"{ind.name_vi} — {v.period.label_vi}", ind.unit)
    return Response(svg, mimetype="image/svg+xml")


def _indicator_label(regime: str, indicator: str) -> tuple[str, str]:
    from app.services.catalogue import get_indicator

    ind = get_indicator(code=indicator)
    return ind.name_vi, ind.unit


@bp.app_template_filter("pct")
def _pct(value) -> str:
    return "" if value is None else format_vn(value, 1) + " %"


@bp.route("/center/<regime>/<period>/export.<fmt>")
@login_required
def center_export(regime, period, fmt):
    from io import BytesIO

    from flask import send_file

    from app.services import export_jobs, exports

    unit = request.args.get("unit", svc.NATION)[:40]
    units = request.args.get("units", "as_reported")
    if fmt == "pdf":
        state = export_jobs.start_pdf(user=current_user, regime=regime, period=period, agency=unit, units=units)
        return redirect(url_for("web.center_job", job=state["job"]))
    elif fmt == "xlsx":
        data, name = exports.xlsx_bytes(user=current_user, regime=regime, period=period, agency=unit, units=units)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    elif fmt == "csv":
        data, name = exports.csv_bytes(user=current_user, regime=regime, period=period, agency=unit, units=units)
        mimetype = "text/csv"
    else:
        raise NotFound("Định dạng xuất không được hỗ trợ (pdf, xlsx, csv)")
    return send_file(BytesIO(data), download_name=name, as_attachment=True, mimetype=mimetype)


@bp.route("/center/jobs/<int:job>")
@login_required
def center_job(job):
    """The progress of a report being rendered; the page polls the JSON form until it is ready."""
    from flask import jsonify

    from app.services import export_jobs

    state = export_jobs.job_status(user=current_user, job=job)
    if request.args.get("format") == "json" or request.accept_mimetypes.best == "application/json":
        return jsonify({k: state.get(k) for k in ("state", "step", "name", "bytes")})
    return render_template("center/job.html", state=state, job=job)


@bp.route("/center/jobs/<int:job>.pdf")
@login_required
def center_job_file(job):
    from io import BytesIO

    from flask import send_file

    from app.services import export_jobs

    data, name = export_jobs.job_file(user=current_user, job=job)
    return send_file(BytesIO(data), download_name=name, as_attachment=True, mimetype="application/pdf")
