"""Template designer pages: list, create, edit a draft section by section (elements, tiers,
outline, forms, rules, new indicators), preview, publish, versions and diff, export and import."""
from __future__ import annotations

from datetime import date
from io import BytesIO

from flask import redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.adapters import excel
from app.adapters.collation import fold
from app.auth import role_required
from app.domain import designer as rules
from app.domain.catalogue import AGGREGATIONS, CONTENT_KINDS, LEVELS, SENDING_METHODS, SYSTEM_COLUMNS, VALUE_TYPES
from app.domain.layout import Layout
from app.models import Role
from app.services import catalogue as catalogue_svc
from app.services import designer as svc
from app.services import upload_jobs
from app.services.errors import Conflict, Invalid
from app.web.messages import flash, flash_invalid

from . import bp
from .forms import EmptyForm

FREQUENCIES = ["weekly", "monthly", "quarterly", "semiannual", "nine_month", "annual", "ad_hoc"]
DEADLINE_RULES = ["day_of_month", "days_after", "working_days_after", "fixed_date"]
BLANK_ROWS = 5


def _int(value: str):
    """Digits become an int; anything else is kept so the parser names the problem."""
    value = (value or "").strip()
    if value.lstrip("-").isdigit():
        return int(value)
    return value or None


def _list(value: str) -> list[str]:
    return [v.strip() for v in (value or "").replace(",", " ").split() if v.strip()]


def _set(d: dict, key: str, value) -> None:
    if value in (None, "", []):
        d.pop(key, None)
    else:
        d[key] = value


# --------------------------------------------------------------------------- posted sections
def apply_elements(doc: dict, f) -> None:
    r = doc["regime"]
    for key in ("name_vi", "name_en", "legal_basis", "content", "process_guidance"):
        _set(r, key, f.get(key, "").strip())
    for key in ("type", "frequency", "content_kind"):
        _set(r, key, f.get(key, ""))
    _set(r, "valid_from", f.get("valid_from", "").strip())
    _set(r, "valid_to", f.get("valid_to", "").strip())
    r["sending_methods"] = f.getlist("sending_methods")
    cutoff = {"rule": f.get("cutoff_rule", "decree09")}
    _set(cutoff, "day", _int(f.get("cutoff_day", "")))
    _set(cutoff, "month", _int(f.get("cutoff_month", "")))
    r["cutoff"] = cutoff
    reminders = [_int(x) for x in _list(f.get("reminder_days", ""))]
    _set(r, "reminder_days", reminders)
    _set(r, "lock_after_days", _int(f.get("lock_after_days", "")))


def apply_tiers(doc: dict, f) -> None:
    tiers = []
    for i in range(int(f.get("tier_count", "0") or 0)):
        p = f"tier{i}_"
        if f.get(p + "delete") or not any(f.get(p + k, "").strip() for k in ("name", "receiver", "agencies")) and not f.getlist(p + "levels"):
            continue
        reporters: dict = {}
        _set(reporters, "levels", f.getlist(p + "levels"))
        _set(reporters, "department_kinds", _list(f.get(p + "kinds", "")))
        _set(reporters, "agencies", _list(f.get(p + "agencies", "")))
        _set(reporters, "except_agencies", _list(f.get(p + "except_agencies", "")))
        _set(reporters, "except_department_kinds", _list(f.get(p + "except_kinds", "")))
        rule = f.get(p + "rule", "day_of_month")
        deadline = {"rule": rule}
        if rule in ("day_of_month", "fixed_date"):
            _set(deadline, "day", _int(f.get(p + "day", "")))
            _set(deadline, "month" if rule == "fixed_date" else "month_offset", _int(f.get(p + "month", "")))
        else:
            _set(deadline, "days", _int(f.get(p + "days", "")))
        tier = {"name": f.get(p + "name", "").strip(), "reporters": reporters,
                "receiver": f.get(p + "receiver", "").strip(), "deadline": deadline}
        basis, missing = f.get(p + "compile_basis", "approved"), f.get(p + "compile_missing", "omit")
        if i > 0 and (basis, missing) != ("approved", "omit"):  # the default policy is not written out
            tier["compile"] = {"basis": basis, "missing": missing}
        tiers.append(tier)
    doc["regime"]["tiers"] = tiers


def apply_outline(doc: dict, f) -> None:
    sections = []
    for i in range(int(f.get("section_count", "0") or 0)):
        p = f"sec{i}_"
        if f.get(p + "delete") or not (f.get(p + "code", "").strip() or f.get(p + "title", "").strip()):
            continue
        s = {"code": f.get(p + "code", "").strip(), "title": f.get(p + "title", "").strip()}
        _set(s, "guidance", f.get(p + "guidance", "").strip())
        if f.get(p + "compiled"):
            s["compiled"] = True
        sections.append(s)
    _set(doc["regime"], "outline", sections)


def apply_form(doc: dict, code: str, f) -> None:
    form = doc["forms"].setdefault(code, rules.new_form_document(code, code))
    form["title"] = f.get("title", "").strip()
    _set(form, "disaggregations", f.getlist("disaggregations"))
    form["columns"] = ["current"] + [c for c in f.getlist("columns") if c != "current"]
    pct = f.get("change_warning_pct", "").strip().replace(",", ".")
    try:
        _set(form, "change_warning_pct", float(pct) if pct else None)
    except ValueError:
        form["change_warning_pct"] = pct
    rows = []
    for i in range(int(f.get("row_count", "0") or 0)):
        p = f"row{i}_"
        indicator = f.get(p + "indicator", "").strip().upper()
        if f.get(p + "delete") or not indicator:
            continue
        row = {"indicator": indicator}
        _set(row, "row", f.get(p + "row", "").strip())
        _set(row, "parent", f.get(p + "parent", "").strip().upper())
        if f.get(p + "of_which"):
            row["of_which"] = True
        _set(row, "carried_from", f.get(p + "carried_from", "").strip().upper())
        order = f.get(p + "order", "").strip()
        rows.append((float(order) if order.replace(".", "", 1).isdigit() else i + 1000, i, row))
    form["rows"] = [r for _, _, r in sorted(rows, key=lambda t: (t[0], t[1]))]
    checks = []
    for line in f.get("rules", "").splitlines():
        parts = [p.strip() for p in line.split("|")]
        if not parts[0]:
            continue
        said = fold(parts[1]) if len(parts) > 1 else ""
        rule = {"check": parts[0], "severity": SEVERITY_WORDS.get(said, parts[1] if said else "error")}
        _set(rule, "message", parts[2] if len(parts) > 2 else "")
        checks.append(rule)
    _set(form, "rules", checks)


SEVERITY_WORDS = {"loi": "error", "error": "error", "canh bao": "warning", "warning": "warning"}  # folded: "lỗi", "cảnh báo"
SEVERITY_VI = {"error": "lỗi", "warning": "cảnh báo"}


def _rules_text(form: dict) -> str:
    """The rules as the designer edits them: rule | lỗi or cảnh báo | message."""
    return "\n".join(" | ".join(x for x in (r.get("check", ""), SEVERITY_VI.get(r.get("severity", "error"), r.get("severity", "")),
                                            r.get("message", "")) if x)
                     for r in form.get("rules", []))


# ---------------------------------------------------------------------------------------- pages
@bp.route("/designer")
@role_required(Role.DESIGNER)
def designer():
    return render_template("designer/list.html", items=svc.my_regimes(user=current_user), frequencies=FREQUENCIES,
                           action=EmptyForm(), today=date.today())


@bp.route("/designer/new", methods=["POST"])
@role_required(Role.DESIGNER)
def designer_new():
    if not EmptyForm().validate_on_submit():
        flash(_("Phiên làm việc đã hết hạn (CSRF). Hãy tải lại trang."), "danger")
        return redirect(url_for("web.designer"))
    try:
        start = date.fromisoformat(request.form.get("valid_from", ""))
    except ValueError:
        start = date.today()
    try:
        draft = svc.new_regime(user=current_user, code=request.form.get("code", ""), name_vi=request.form.get("name_vi", ""),
                               frequency=request.form.get("frequency", "monthly"), valid_from=start)
    except Invalid as exc:
        flash_invalid(exc)
        return redirect(url_for("web.designer"))
    return redirect(url_for("web.designer_edit", code=draft.regime_code))


def _edit_context(code: str):
    draft = svc.get_draft(user=current_user, code=code, create=True)
    check = svc.evaluate(draft)
    disaggs, library = svc.library_documents()
    return dict(draft=draft, doc=draft.document, check=check, disaggs=disaggs, library=library, levels=LEVELS,
                sending=SENDING_METHODS, content_kinds=CONTENT_KINDS, frequencies=FREQUENCIES, deadline_rules=DEADLINE_RULES,
                system_columns=SYSTEM_COLUMNS, value_types=VALUE_TYPES, aggregations=AGGREGATIONS, blank=BLANK_ROWS,
                action=EmptyForm(), rules_text=_rules_text)


@bp.route("/designer/<code>", methods=["GET", "POST"])
@role_required(Role.DESIGNER)
def designer_edit(code):
    if request.method == "POST":
        svc.require_editor(user=current_user, code=code)
        if not EmptyForm().validate_on_submit():
            flash(_("Phiên làm việc đã hết hạn (CSRF). Hãy tải lại trang."), "danger")
            return redirect(url_for("web.designer_edit", code=code))
        section = request.form.get("section", "")
        appliers = {"elements": apply_elements, "tiers": apply_tiers, "outline": apply_outline}
        revision = _int(request.form.get("revision", ""))
        try:
            if section in appliers:
                svc.update(user=current_user, code=code, revision=revision if isinstance(revision, int) else None,
                           change=lambda doc: appliers[section](doc, request.form))
                flash(_("Đã lưu bản nháp."), "success")
            elif section == "add_form":
                form_code = request.form.get("form_code", "").strip().upper()
                title = request.form.get("form_title", "").strip()
                if not svc.CODE_RE.match(form_code) or not title:
                    raise Invalid(_("Biểu mẫu cần mã (chữ in hoa, số) và tên"))

                def add(doc):
                    if form_code in doc["regime"].get("forms", []):
                        raise Invalid(_("Biểu %(c)s đã có", c=form_code))
                    doc["regime"].setdefault("forms", []).append(form_code)
                    doc["forms"][form_code] = rules.new_form_document(form_code, title)
                svc.update(user=current_user, code=code, revision=None, change=add)
                return redirect(url_for("web.designer_form", code=code, form=form_code))
            elif section == "remove_form":
                form_code = request.form.get("form_code", "")

                def remove(doc):
                    doc["regime"]["forms"] = [c for c in doc["regime"].get("forms", []) if c != form_code]
                    doc["forms"].pop(form_code, None)
                svc.update(user=current_user, code=code, revision=None, change=remove)
                flash(_("Đã bỏ biểu %(c)s khỏi bản nháp.", c=form_code), "success")
            elif section == "publish":
                version = svc.publish(user=current_user, code=code, revision=revision if isinstance(revision, int) else None)
                flash(_("Đã công bố phiên bản %(n)s của %(c)s. Phiên bản này không sửa được nữa; sửa tiếp sẽ tạo bản nháp phiên bản sau.",
                        n=version.version, c=code), "success")
                return redirect(url_for("web.designer_versions", code=code))
            elif section == "discard":
                svc.discard(user=current_user, code=code)
                flash(_("Đã hủy bản nháp."), "success")
                return redirect(url_for("web.designer"))
            elif section == "retire":
                version = svc.retire(user=current_user, code=code, valid_to=date.fromisoformat(request.form.get("valid_to", "")))
                flash(_("Đã cho chế độ hết hiệu lực (phiên bản %(n)s).", n=version.version), "success")
                return redirect(url_for("web.designer_versions", code=code))
        except (Invalid, Conflict) as exc:
            flash_invalid(exc)
        except ValueError:
            flash(_("Ngày không hợp lệ"), "danger")
        return redirect(url_for("web.designer_edit", code=code) + ("#" + section if section else ""))
    return render_template("designer/edit.html", **_edit_context(code))


@bp.route("/designer/<code>/forms/<form>", methods=["GET", "POST"])
@role_required(Role.DESIGNER)
def designer_form(code, form):
    sample_result = None
    if request.method == "POST":
        svc.require_editor(user=current_user, code=code)
        if not EmptyForm().validate_on_submit():
            flash(_("Phiên làm việc đã hết hạn (CSRF). Hãy tải lại trang."), "danger")
            return redirect(url_for("web.designer_form", code=code, form=form))
        section = request.form.get("section", "form")
        try:
            if section == "form":
                svc.update(user=current_user, code=code, revision=None, change=lambda doc: apply_form(doc, form, request.form))
                flash(_("Đã lưu biểu %(c)s.", c=form), "success")
                return redirect(url_for("web.designer_form", code=code, form=form))
            if section == "indicator":
                result = _add_indicator(code)
                if result is not None:
                    return result
                return redirect(url_for("web.designer_form", code=code, form=form))
            if section == "rule_check":
                draft = svc.get_draft(user=current_user, code=code, create=True)
                known = {r["indicator"] for r in draft.document["forms"].get(form, {}).get("rows", [])}
                sample = {}
                for pair in _list(request.form.get("sample", "").replace(";", " ")):
                    if "=" in pair:
                        k, v = pair.split("=", 1)
                        try:
                            sample[k.strip().upper()] = float(v.replace(",", "."))
                        except ValueError:
                            pass
                sample_result = rules.check_rule(request.form.get("rule", ""), known, sample)
        except (Invalid, Conflict) as exc:
            flash_invalid(exc)
            return redirect(url_for("web.designer_form", code=code, form=form))
    ctx = _edit_context(code)
    if form not in ctx["doc"]["forms"]:
        flash(_("Bản nháp không có biểu %(c)s.", c=form), "danger")
        return redirect(url_for("web.designer_edit", code=code))
    return render_template("designer/form.html", form_code=form, form_doc=ctx["doc"]["forms"][form], sample_result=sample_result,
                           posted_rule=request.form.get("rule", ""), posted_sample=request.form.get("sample", ""),
                           similar=None, pending=None, **ctx)


def _add_indicator(code):
    f = request.form
    doc = {"code": f.get("ind_code", "").strip().upper(), "name_vi": f.get("ind_name_vi", "").strip(),
           "unit": f.get("ind_unit", "").strip(), "value_type": f.get("ind_value_type", "number"),
           "aggregation": f.get("ind_aggregation", "sum")}
    for key in ("name_en", "description"):
        if f.get("ind_" + key, "").strip():
            doc[key] = f.get("ind_" + key).strip()
    for key in ("min", "max"):
        raw = f.get("ind_" + key, "").strip().replace(",", ".")
        if raw:
            try:
                doc[key] = float(raw)
            except ValueError:
                doc[key] = raw
    result = svc.add_indicator(user=current_user, code=code, revision=None, doc=doc, confirm=bool(f.get("confirm")))
    if result.added:
        flash(_("Đã thêm chỉ tiêu %(c)s vào bản nháp; nó vào thư viện khi công bố.", c=doc["code"]), "success")
        return None
    form = request.view_args["form"]
    ctx = _edit_context(code)
    return render_template("designer/form.html", form_code=form, form_doc=ctx["doc"]["forms"][form], sample_result=None,
                           posted_rule="", posted_sample="", similar=result.similar, pending=doc, **ctx), 409


@bp.route("/designer/<code>/preview")
@role_required(Role.DESIGNER)
def designer_preview(code):
    ctx = _edit_context(code)
    check = ctx["check"]
    if check.regime is None:
        flash(_("Bản nháp còn lỗi; sửa trước khi xem trước."), "danger")
        return redirect(url_for("web.designer_edit", code=code))
    layout = Layout(check.regime, check.catalogue)
    if request.args.get("format") == "xlsx":
        spec = excel.TemplateSpec(layout=layout, regime_code=code, regime_name=check.regime.name_vi, regime_version=0,
                                  regime_hash="preview", agency_code="XEM-TRUOC", agency_name=_("Đơn vị mẫu (xem trước)"),
                                  period_key="", period_label=_("Kỳ mẫu"), deadline="")
        return send_file(BytesIO(excel.build_template(spec)), download_name=f"{code}-xem-truoc.xlsx", as_attachment=True,
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return render_template("designer/preview.html", layout=layout, regime=check.regime, **ctx)


@bp.route("/designer/<code>/versions")
@role_required(Role.DESIGNER)
def designer_versions(code):
    regime = catalogue_svc.get_regime(code=code)
    a, b = request.args.get("a", ""), request.args.get("b", "")
    diff = svc.version_diff(code=code, a=int(a), b=int(b)) if a.isdigit() and b.isdigit() else None
    return render_template("designer/versions.html", regime=regime, diff=diff, a=a, b=b, action=EmptyForm())


@bp.route("/designer/<code>/export.zip")
@role_required(Role.DESIGNER)
def designer_export(code):
    version = request.args.get("version", "")
    data, name = svc.export_zip(user=current_user, code=code, version=int(version) if version.isdigit() else None)
    return send_file(BytesIO(data), download_name=name, as_attachment=True, mimetype="application/zip")


@bp.route("/designer/imports/<int:job>")
@role_required(Role.DESIGNER)
def designer_import_job(job):
    """A large catalogue zip being checked and loaded: the page follows the job; then the designer's
    page with what was created, or every problem (nothing written)."""
    from flask import jsonify

    state = upload_jobs.status(user=current_user, job_id=job, kind="catalogue_zip")
    if request.args.get("format") == "json" or request.accept_mimetypes.best == "application/json":
        return jsonify({k: state[k] for k in ("state", "step")})
    if state["state"] == "done":
        s = state["summary"]
        flash(_("Đã nhập: tạo mới %(c)s, phiên bản mới %(v)s, không đổi %(u)s.", c=", ".join(s["created"]) or "—",
                v=", ".join(s["versions"]) or "—", u=", ".join(s["unchanged"]) or "—"), "success")
        return redirect(url_for("web.designer"))
    return render_template("job_progress.html", state=state, heading=_("Nhập chế độ báo cáo từ tệp zip"), subtitle="",
                           poll_url=url_for("web.designer_import_job", job=job, format="json"), back_url=url_for("web.designer"),
                           back_label=_("Quay lại trang thiết kế")), 422 if state["state"] == "failed" else 200


@bp.route("/designer/import", methods=["POST"])
@role_required(Role.DESIGNER)
def designer_import():
    if not EmptyForm().validate_on_submit():
        flash(_("Phiên làm việc đã hết hạn (CSRF). Hãy tải lại trang."), "danger")
        return redirect(url_for("web.designer"))
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Chọn tệp .zip để nhập"), "danger")
        return redirect(url_for("web.designer"))
    data = upload.read()
    if not upload_jobs.zip_interactive(data):  # a large zip is checked and loaded off the request
        job = upload_jobs.enqueue_catalogue_zip(user=current_user, data=data, file_name=upload.filename)
        return redirect(url_for("web.designer_import_job", job=job.id))
    try:
        summary = svc.import_zip(user=current_user, data=data)
    except Invalid as exc:
        flash_invalid(exc)
        return redirect(url_for("web.designer"))
    flash(_("Đã nhập: tạo mới %(c)s, phiên bản mới %(v)s, không đổi %(u)s.", c=", ".join(summary.regimes_created) or "—",
            v=", ".join(summary.versions_created) or "—", u=", ".join(summary.unchanged) or "—"), "success")
    return redirect(url_for("web.designer"))
