"""Pages of the compile chain: fill a report from the reports below, and the drill-back list of
one compiled cell. The compile panel on the report form comes from `panel()`."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.domain import chain as rules
from app.services import chain as svc
from app.services import submissions as submissions_svc
from app.services.errors import Conflict, Invalid
from app.web.messages import flash, flash_invalid

from . import bp
from .forms import EmptyForm


def panel(report, *, writable: bool):
    """What the report form shows about the tier below, or None for a report not compiled."""
    if not svc.compiles(report):
        return None
    comp = svc.gather(report)
    version = report.submission.latest if report.submission else None
    record = version.compilation if version is not None else None
    return SimpleNamespace(
        units=comp.units, counted=comp.counted, missing=comp.missing, late=comp.late, policy=comp.policy,
        carried=[u for u in comp.units if u.carried_from],
        changes=svc.changes_below(report, comp) if record else [], compiled_at=_at(record), can_fill=writable,
        corrections=svc.previous_corrections(report, current_user))


def compiled_cells(report, entries, number: int | None = None):
    """For the grid: the compiled values, the cells overridden (with the compiled value), the drill-back link."""
    version = report.submission.version(number) if (report.submission and number) else (report.submission.latest if report.submission else None)
    record = version.compilation if version is not None else None
    if not record:
        return None
    overridden = {rules.cell_id(k): (None if c is None else Decimal(str(c)))
                  for k, (c, _cur) in rules.overrides(record, entries).items()}
    return SimpleNamespace(values=record.get("values") or {}, overridden=overridden,
                           sources_url=url_for("web.report_sources", regime=report.regime.code, agency=report.agency.code,
                                               period=report.period_key))


def _at(record):
    return datetime.fromisoformat(record["at"]) if record and record.get("at") else None


@bp.route("/reports/<regime>/<agency>/<period>/compile", methods=["POST"])
@login_required
def report_compile(regime, agency, period):
    if not EmptyForm().validate_on_submit():
        flash(_("Phiên làm việc đã hết hạn (CSRF). Hãy tải lại trang."), "danger")
        return redirect(url_for("web.report_form", regime=regime, agency=agency, period=period))
    raw = request.form.get("revision", "")
    try:
        _result, comp = svc.fill(user=current_user, regime_code=regime, agency_code=agency, period_key=period,
                                 revision=int(raw) if raw.isdigit() else None)
    except (Invalid, Conflict) as exc:
        flash_invalid(exc)
    else:
        flash(_("Đã tổng hợp từ báo cáo của %(n)s/%(m)s đơn vị. Ô đã sửa tay được giữ nguyên.",
                n=len(comp.counted), m=len(comp.units)), "success")
    return redirect(url_for("web.report_form", regime=regime, agency=agency, period=period))


@bp.route("/reports/<regime>/<agency>/<period>/sources")
@login_required
def report_sources(regime, agency, period):
    report = submissions_svc.open_report(user=current_user, regime_code=regime, agency_code=agency, period_key=period)
    code, _sep, dkey = request.args.get("cell", "")[:200].partition("|")
    cell = report.layout.cells.get((code, dkey))
    if cell is None or cell.computed:
        abort(404)
    comp = svc.gather(report)
    return render_template("reports/sources.html", r=report, indicator=cell.indicator, dkey=dkey,
                           compiled=comp.cells.get((code, dkey)), rows=svc.sources_of(comp, (code, dkey)))
