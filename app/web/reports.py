"""Reporting pages: my reports, the report form (web grid and Excel), a submission with its
versions, seal and history, the approver's inbox, ad hoc requests."""
from __future__ import annotations

from datetime import datetime, time
from io import BytesIO

from flask import abort, current_app, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields import SelectChoice

from app.auth import role_required
from app.domain.deadlines import VN_TZ
from app.domain.layout import TOTAL
from app.domain.workflow import Status
from app.models import Role
from app.services import decisions as decisions_svc
from app.services import listings as listings_svc
from app.services import references as references_svc
from app.services import requests as requests_svc
from app.services import sending as sending_svc
from app.services import signing, upload_jobs
from app.services import submissions as svc
from app.services import uploads as uploads_svc
from app.services.errors import Conflict, Invalid
from app.web.messages import flash

from . import bp
from .chain import compiled_cells, panel
from .forms import EmptyForm, RequestForm, ReturnForm, UploadForm
from .paging import paginate


@bp.route("/reports")
@login_required
def my_reports():
    rows = listings_svc.my_reports(user=current_user)
    return render_template("reports/list.html", rows=rows, Status=Status)


def _raw_from_form(report, form) -> tuple[dict, dict]:
    """Posted fields → raw cells and outline. Fields: v|IND|KEY (value), e|IND (estimate),
    c|IND (comment), o|SECTION (outline). Computed cells are not posted; the server computes them."""
    raw = {}
    for key, cell in report.layout.cells.items():
        if cell.computed:
            continue
        name = f"v|{key[0]}|{key[1]}"
        value = form.get(name, "")
        estimate = form.get(f"e|{key[0]}") == "1"
        comment = form.get(f"c|{key[0]}", "") if key[1] == TOTAL else ""
        if value.strip() or comment.strip():
            raw[key] = (value[:100], estimate, comment)
    for key, cell in report.layout.cells.items():  # a comment on a row whose total is computed
        if cell.computed and key[1] == TOTAL and form.get(f"c|{key[0]}", "").strip():
            raw[key] = (None, False, form.get(f"c|{key[0]}", ""))
    outline = {s.code: form.get(f"o|{s.code}", "") for s in report.definition.outline}
    return raw, outline


def _revision(form) -> int | None:
    raw = form.get("revision", "")
    return int(raw) if raw.isdigit() else None


@bp.route("/reports/<regime>/<agency>/<period>", methods=["GET", "POST"])
@login_required
def report_form(regime, agency, period):
    report = svc.open_report(user=current_user, regime_code=regime, agency_code=agency, period_key=period,
                             for_write=request.method == "POST")
    autosave = request.headers.get("X-Autosave") == "1"
    posted = None
    errors: list[dict] = []
    if request.method == "POST":
        form = EmptyForm()
        if not form.validate_on_submit():
            return _fail(autosave, 400, _("Phiên làm việc đã hết hạn (CSRF). Hãy tải lại trang."), [], report)
        raw, outline = _raw_from_form(report, request.form)
        try:
            result = svc.save(user=current_user, report=report, raw=raw, outline=outline,
                              revision=_revision(request.form), autosave=autosave)
        except Conflict as exc:
            return _fail(autosave, 409, str(exc), [], report, request.form)
        except Invalid as exc:
            if autosave:
                return jsonify({"saved": False, "message": str(exc), "problems": exc.details or []}), 422
            errors = exc.details or [{"message": str(exc)}]
            posted = request.form
            flash(str(exc), "danger")
        else:
            if autosave:
                return jsonify({"saved": True, "revision": result.submission.revision, "version": result.version.number,
                                "saved_at": result.version.saved_at.astimezone(VN_TZ).strftime("%H:%M:%S"),
                                "warnings": len(result.findings)})
            flash(_("Đã lưu bản nháp (phiên bản %(n)s).", n=result.version.number), "success")
            return redirect(url_for("web.report_form", regime=regime, agency=agency, period=period))
    return _render_form(report, posted=posted, errors=errors, status=422 if errors else 200)


def _fail(autosave, status, message, details, report, posted=None):
    if autosave:
        return jsonify({"saved": False, "message": message, "problems": details}), status
    flash(message, "danger")
    return _render_form(report, posted=posted, errors=details, status=status)


def _render_form(report, *, posted=None, errors=None, upload_errors=None, status=200):
    entries = report.entries()
    writable = _writable(report)
    if len(report.layout.cells) > current_app.config["WEB_GRID_MAX_CELLS"]:
        # a province-wide workbook (tens of thousands of cells) is filled in Excel: no one types it in a
        # browser, and rendering it took seconds of a worker's CPU on deadline day (docs/performance.md)
        return render_template(
            "reports/form.html", r=report, entries=entries, system={}, carried={}, posted=None, errors=errors or [],
            upload_errors=upload_errors or [], cell_errors={}, findings=[], writable=writable, upload=UploadForm(),
            action=EmptyForm(), now=svc.utcnow(), excel_only=len(report.layout.cells), chain=panel(report, writable=writable)), status
    check = svc.check_draft(report) if report.submission and not posted else []
    cell_errors = {}
    for e in (errors or []) + (upload_errors or []):
        if e.get("indicator"):
            cell_errors.setdefault(f"{e['indicator']}|{e.get('cell_key', '')}", e["message"])
    return render_template(
        "reports/form.html", r=report, entries=entries, system=report.system(entries), carried=references_svc.carried_values(report),
        posted=posted, errors=errors or [], upload_errors=upload_errors or [], cell_errors=cell_errors,
        findings=check, writable=writable, upload=UploadForm(), action=EmptyForm(), now=svc.utcnow(),
        chain=panel(report, writable=writable), compiled=compiled_cells(report, entries)), status


def _writable(report) -> bool:
    if current_user.agency_id != report.agency.id or not current_user.has_role(*svc.WRITERS):
        return False
    try:
        svc.workflow_check(report, svc.utcnow())
    except Invalid:
        return False
    return True


@bp.route("/reports/<regime>/<agency>/<period>/template.xlsx")
@login_required
def report_template(regime, agency, period):
    data, name = uploads_svc.template(user=current_user, regime_code=regime, agency_code=agency, period_key=period)
    return send_file(BytesIO(data), download_name=name, as_attachment=True,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/reports/<regime>/<agency>/<period>/upload", methods=["POST"])
@login_required
def report_upload(regime, agency, period):
    form = UploadForm()
    report = svc.open_report(user=current_user, regime_code=regime, agency_code=agency, period_key=period, for_write=True)
    if not form.validate_on_submit():
        problems = [{"message": str(m), "where": _("Tệp tải lên")} for msgs in form.errors.values() for m in msgs]
        flash(_("Chưa nhận tệp: %(m)s", m="; ".join(p["message"] for p in problems)), "danger")
        return _render_form(report, upload_errors=problems, status=422)
    f = form.file.data
    data = f.read()
    if not upload_jobs.interactive(data):  # a large workbook is read off the request; its page follows it
        job = upload_jobs.enqueue_upload(user=current_user, regime=regime, agency=agency, period=period, data=data,
                                         file_name=f.filename or "upload.xlsx", revision=_revision(request.form))
        return redirect(url_for("web.upload_job", job=job.id))
    try:
        result = uploads_svc.upload(user=current_user, regime_code=regime, agency_code=agency, period_key=period,
                            data=data, file_name=f.filename or "upload.xlsx", revision=_revision(request.form))
    except (Invalid, Conflict) as exc:
        flash(str(exc), "danger")
        details = getattr(exc, "details", None) or [{"message": str(exc)}]
        return _render_form(report, upload_errors=details, status=422 if isinstance(exc, Invalid) else 409)
    flash(_("Đã nhận tệp %(f)s: tạo bản nháp phiên bản %(n)s. Kiểm tra rồi bấm “Gửi báo cáo”.",
            f=f.filename, n=result.version.number), "success")
    return redirect(url_for("web.report_form", regime=regime, agency=agency, period=period))


@bp.route("/uploads/<int:job>")
@login_required
def upload_job(job):
    """A large workbook being read: the page follows the job; once it ended, the report (the new
    version) or every problem found, by sheet and cell."""
    state = upload_jobs.status(user=current_user, job_id=job)
    if request.args.get("format") == "json" or request.accept_mimetypes.best == "application/json":
        return jsonify({k: state[k] for k in ("state", "step")})
    if state["state"] == "done":
        flash(_("Đã nhận tệp %(f)s: tạo bản nháp phiên bản %(n)s. Kiểm tra rồi bấm “Gửi báo cáo”.",
                f=state["file_name"], n=state["version"]), "success")
        return redirect(url_for("web.report_form", regime=state["regime"], agency=state["agency"], period=state["period"]))
    back = url_for("web.report_form", regime=state["regime"], agency=state["agency"], period=state["period"])
    return render_template("job_progress.html", state=state, heading=_("Nhận tệp Excel"),
                           subtitle=f"{state['regime']} — {state['agency']} — {state['period']}",
                           poll_url=url_for("web.upload_job", job=job, format="json"), back_url=back,
                           back_label=_("Quay lại báo cáo để sửa và tải lại")), 422 if state["state"] == "failed" else 200


@bp.route("/submissions/<int:sid>/submit", methods=["POST"])
@login_required
def submission_submit(sid):
    report = svc.get_report(user=current_user, submission_id=sid, for_write=True)
    back = url_for("web.report_form", regime=report.regime.code, agency=report.agency.code, period=report.period_key)
    if not EmptyForm().validate_on_submit():
        flash(_("Phiên làm việc đã hết hạn (CSRF). Hãy tải lại trang."), "danger")
        return redirect(back)
    try:
        result = sending_svc.submit(user=current_user, submission_id=sid, revision=_revision(request.form))
    except Invalid as exc:
        flash(str(exc), "danger")
        return _render_form(report, errors=exc.details or [], status=422)
    except Conflict as exc:
        flash(str(exc), "danger")
        return redirect(back)
    msg = _("Đã gửi báo cáo (phiên bản %(n)s), đã niêm phong.", n=result.version.number)
    if not result.version.on_time:
        msg += " " + _("Báo cáo gửi sau hạn nên được ghi nhận là nộp muộn.")
    flash(msg, "success" if result.version.on_time else "warning")
    return redirect(url_for("web.submission", sid=sid))


@bp.route("/submissions/<int:sid>")
@login_required
def submission(sid):
    report = svc.get_report(user=current_user, submission_id=sid)
    sub = report.submission
    number = request.args.get("v", "")
    number = int(number) if number.isdigit() and sub.version(int(number)) else sub.latest.number
    shown = sub.version(number)
    changes, sections = [], []
    against = request.args.get("diff", "")
    if against.isdigit() and sub.version(int(against)) and int(against) != number:
        changes, sections = listings_svc.diff(report=report, a=int(against), b=number)
    verification = listings_svc.verify(user=current_user, submission_id=sid, number=number) if shown.sealed else None
    entries = report.entries(number)
    can_decide = decisions_svc.can_decide(user=current_user, submission=sub)
    return render_template("reports/submission.html", r=report, sub=sub, shown=shown, entries=entries,
                           system=report.system(entries, number), events=listings_svc.events(report=report), changes=changes,
                           sections=sections, against=int(against) if against.isdigit() else None,
                           verification=verification, can_decide=can_decide, action=EmptyForm(), return_form=ReturnForm(),
                           now=svc.utcnow(), compiled=compiled_cells(report, entries, number),
                           signature=signing.verify_version(shown) if shown.sealed else None,
                           checks=_checks(sub))


def _checks(sub):
    """What the reporting center asked this agency to check in the report, with the cells' names."""
    from app.services import quality

    asked = quality.asked_of(sub)
    if not asked:
        return []
    cat = report_catalogue(sub)
    return [(f, cat.indicators[f.indicator].name_vi if f.indicator in cat.indicators else f.indicator,
             next((c for c in reversed(f.comments) if c.action == "ask"), None)) for f in asked]


def report_catalogue(sub):
    from app.services.catalogue import regime_definition

    return regime_definition(sub.regime.current_version)[1]


@bp.route("/submissions/<int:sid>/versions/<int:number>/signed.pdf")
@login_required
def submission_signed_pdf(sid, number):
    report = svc.get_report(user=current_user, submission_id=sid)  # the reader's scope, checked on what is stored
    version = report.submission.version(number)
    doc = signing.document_of(version.id) if version is not None else None
    if doc is None:
        abort(404)
    return send_file(BytesIO(doc.pdf), download_name=f"{report.regime.code}_{report.agency.code}_{report.period_key}_v{number}_ky-so.pdf",
                     as_attachment=True, mimetype="application/pdf")


def _decision(sid, fn, success, **kwargs):
    form = ReturnForm() if "reason" in kwargs else EmptyForm()
    if not form.validate_on_submit():
        msgs = [m for ms in form.errors.values() for m in ms] or [_("Phiên làm việc đã hết hạn (CSRF).")]
        flash("; ".join(str(m) for m in msgs), "danger")
        return redirect(url_for("web.submission", sid=sid))
    if "reason" in kwargs:
        kwargs["reason"] = form.reason.data
    try:
        fn(user=current_user, submission_id=sid, **kwargs)
        flash(success, "success")
    except (Invalid, Conflict) as exc:
        flash(str(exc), "danger")
    return redirect(url_for("web.submission", sid=sid))


@bp.route("/submissions/<int:sid>/approve", methods=["POST"])
@role_required(Role.APPROVER)
def submission_approve(sid):
    return _decision(sid, decisions_svc.approve, _("Đã duyệt báo cáo."))


@bp.route("/submissions/<int:sid>/return", methods=["POST"])
@role_required(Role.APPROVER)
def submission_return(sid):
    return _decision(sid, decisions_svc.return_, _("Đã trả lại báo cáo; đơn vị báo cáo đã được thông báo."), reason="")


@bp.route("/submissions/<int:sid>/reopen", methods=["POST"])
@role_required(Role.APPROVER)
def submission_reopen(sid):
    return _decision(sid, decisions_svc.reopen, _("Đã mở lại báo cáo cho đơn vị sửa."), reason="")


@bp.route("/inbox")
@role_required(Role.APPROVER)
def inbox():
    args = {k: request.args.get(k, "").strip()[:40] for k in ("regime", "period", "agency", "status")}
    if args["status"] not in {s.value for s in Status}:
        args["status"] = "" if args["status"] in ("", "all") else "submitted"
    page = paginate(listings_svc.list_submissions(user=current_user, inbox=True, **args))
    # verified on receipt: every signed report of the page waiting for a decision, checked now
    waiting = [s.latest for s in page.items if s.latest is not None and s.status == "submitted"]
    by_version = signing.verify_versions(waiting)
    verdicts = {v.submission_id: by_version[v.id] for v in waiting if v.id in by_version}
    return render_template("reports/inbox.html", page=page, args=args, Status=Status, verdicts=verdicts)


@bp.route("/requests")
@login_required
def requests_list():
    page = paginate(requests_svc.list_requests(user=current_user))
    progress = {req.id: requests_svc.request_progress(request=req) for req in page.items}
    return render_template("reports/requests.html", page=page, progress=progress)


@bp.route("/requests/new", methods=["GET", "POST"])
@role_required(Role.DESIGNER, Role.APPROVER)
def request_new():
    form = RequestForm()
    form.regime.choices = [SelectChoice(r.code, f"{r.code} — {r.name_vi}") for r in requests_svc.regimes_for_requests()]
    if form.validate_on_submit():
        deadline = datetime.combine(form.deadline.data, time(23, 59, 59), VN_TZ)
        try:
            req = requests_svc.issue_request(user=current_user, regime_code=form.regime.data, title=form.title.data,
                                    content=form.content.data or "", agency_codes=form.agencies.data.replace(",", " ").split(),
                                    deadline=deadline, data_from=form.data_from.data, data_to=form.data_to.data,
                                    kind=form.kind.data)
        except Invalid as exc:
            for d in exc.details or []:
                getattr(form, d.get("field") or "title", form.title).errors.append(d["message"])
        else:
            flash(_("Đã gửi yêu cầu báo cáo tới %(n)s đơn vị.", n=len(req.targets)), "success")
            return redirect(url_for("web.requests_list"))
    return render_template("reports/request_new.html", form=form)
