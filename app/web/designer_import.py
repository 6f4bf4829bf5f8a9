"""Template designer: a form imported from the Word or Excel file a ministry already has — upload,
pick a table when the file has several, review the proposed rows beside the original, accept into
the draft (then preview, rules, publish as for any draft)."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth import role_required
from app.domain.catalogue import SYSTEM_COLUMNS
from app.models import Role
from app.services import designer as designer_svc
from app.services import form_import as svc
from app.services.errors import Conflict, Invalid
from app.web.messages import flash, flash_invalid

from . import bp
from .forms import EmptyForm


def _review(code: str, tables, index: int, proposal=None, rows=None, form_code="", title="", columns=None, breakdown=None,
            status=200):
    draft = designer_svc.get_draft(user=current_user, code=code, create=True)
    table = tables[index]
    if proposal is None:
        proposal = svc.propose(table=table, regime_code=code, extra_taken={d["code"] for d in draft.document.get("indicators", [])})
    rows = rows if rows is not None else svc.reviewed_from_proposal(proposal)
    return render_template("designer/import_review.html", code=code, draft=draft, table=table, index=index, state=svc.tables_state(tables),
                           p=proposal, rows=rows, form_code=form_code or proposal.form_code, title=title or proposal.title,
                           columns=columns if columns is not None else proposal.system_columns,
                           breakdown=proposal.breakdown if breakdown is None else breakdown, system_columns=SYSTEM_COLUMNS,
                           action=EmptyForm()), status


def _posted_rows() -> list[svc.ReviewedRow]:
    f = request.form
    n = min(int(f.get("rows", "0")) if f.get("rows", "0").isdigit() else 0, svc.MAX_ROWS + 1)
    out = []
    for i in range(n):
        choice = f.get(f"ind_{i}", "")
        new = choice == "new" or not choice
        parent = f.get(f"parent_{i}", "")
        src = f.get(f"src_{i}", "")
        out.append(svc.ReviewedRow(f.get(f"num_{i}", "")[:20], f.get(f"label_{i}", "")[:500], f.get(f"unit_{i}", "")[:50],
                                   int(parent) if parent.isdigit() and int(parent) < i else None, f.get(f"ofwhich_{i}") == "1",
                                   (f.get(f"code_{i}", "") if new else choice)[:40], new, f.get(f"keep_{i}") == "1",
                                   f.get(f"merge_{i}") == "1", int(src) if src.isdigit() else None))
    return out


@bp.route("/designer/<code>/import-form", methods=["GET", "POST"])
@role_required(Role.DESIGNER)
def designer_import_form(code):
    designer_svc.require_editor(user=current_user, code=code)
    if request.method == "GET":
        return render_template("designer/import_upload.html", code=code, action=EmptyForm())
    if not EmptyForm().validate_on_submit():
        flash(_("Phiên làm việc đã hết hạn (CSRF). Hãy tải lại trang."), "danger")
        return redirect(url_for("web.designer_import_form", code=code))
    step = request.form.get("step", "upload")
    try:
        if step == "upload":
            upload = request.files.get("file")
            if upload is None or not upload.filename:
                raise Invalid(_("Chọn tệp Word (.docx) hoặc Excel (.xlsx) của biểu mẫu"))
            tables = svc.read(data=upload.read(), filename=upload.filename)
            if len(tables) > 1:
                return render_template("designer/import_pick.html", code=code, tables=tables, state=svc.tables_state(tables),
                                       action=EmptyForm())
            return _review(code, tables, 0)
        tables = svc.tables_from_state(request.form.get("state", ""))
        index = request.form.get("table", "0")
        index = int(index) if index.isdigit() and int(index) < len(tables) else 0
        if step == "pick":
            return _review(code, tables, index)
        rows = _posted_rows()
        columns = [c for c in request.form.getlist("columns") if c in SYSTEM_COLUMNS]
        form_code, title, breakdown = request.form.get("form_code", "")[:40], request.form.get("title", "")[:500], request.form.get("breakdown", "")[:40]
        action = request.form.get("action", "")
        if action.startswith("split:") and action[6:].isdigit() and int(action[6:]) < len(rows):
            i = int(action[6:])  # the row twice: the designer edits each half
            copy = svc.ReviewedRow(**{**rows[i].__dict__, "label": rows[i].label, "indicator": "", "new": True})
            rows.insert(i + 1, copy)
            for r in rows[i + 2:]:
                if r.parent is not None and r.parent > i:
                    r.parent += 1
            proposal = svc.propose(table=tables[index], regime_code=code)
            return _review(code, tables, index, proposal, rows, form_code, title, columns, breakdown)
        if action == "accept":
            draft = designer_svc.get_draft(user=current_user, code=code, create=True)
            revision = request.form.get("revision", "")
            saved = svc.accept(user=current_user, code=code, revision=int(revision) if revision.isdigit() else draft.revision,
                               form_code=form_code, title=title, system_columns=columns, breakdown=breakdown, rows=rows)
            flash(_("Đã đưa biểu %(c)s vào bản nháp. Hãy xem trước, thêm quy tắc kiểm tra rồi công bố.", c=saved), "success")
            return redirect(url_for("web.designer_form", code=code, form=saved))
        return _review(code, tables, index)
    except Invalid as exc:
        flash_invalid(exc)
        if step in ("upload", "pick") or "state" not in request.form:
            return render_template("designer/import_upload.html", code=code, action=EmptyForm()), 422
        tables = svc.tables_from_state(request.form.get("state", ""))
        index = request.form.get("table", "0")
        index = int(index) if index.isdigit() and int(index) < len(tables) else 0
        return _review(code, tables, index, None, _posted_rows(), request.form.get("form_code", ""), request.form.get("title", ""),
                       [c for c in request.form.getlist("columns") if c in SYSTEM_COLUMNS], request.form.get("breakdown", ""), 422)
    except Conflict as exc:
        flash_invalid(exc)
        return redirect(url_for("web.designer_edit", code=code))

