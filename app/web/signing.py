"""Digital signatures on the web: check any signed PDF brought from outside, and the signing list
(danh mục ký) of the reports the user may read."""
from __future__ import annotations

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import StringField
from wtforms.validators import Length, Optional

from app.services import pki, signing
from app.services.errors import NotFound

from . import bp
from .paging import paginate


class VerifyForm(FlaskForm):
    file = FileField(_l("Tệp PDF đã ký số"), validators=[FileRequired(_l("Chọn tệp PDF")), FileAllowed(["pdf"], _l("Chỉ nhận tệp .pdf"))])
    agency = StringField(_l("Mã đơn vị báo cáo (để kiểm tra người ký thuộc đơn vị)"), validators=[Optional(), Length(max=40)])


@bp.route("/pki/verify", methods=["GET", "POST"])
@login_required
def pki_verify():
    form = VerifyForm()
    verdict, checks, status = None, [], 200
    if form.validate_on_submit():
        agency = None
        code = (form.agency.data or "").strip()
        if code:
            try:
                agency = pki.agency_by_code(code)
            except NotFound as exc:
                form.agency.errors.append(str(exc))
        if not form.agency.errors:
            data = form.file.data.read(pki.MAX_FILE + 1)
            verdict, checks = signing.verify_bytes(data, agency=agency)
    elif request.method == "POST":
        status = 422
    return render_template("signing/verify.html", form=form, verdict=verdict, checks=checks), status


@bp.route("/pki/signatures")
@login_required
def pki_signatures():
    agency = request.args.get("agency", "").strip()[:40]
    page = paginate(signing.signing_list(user=current_user, agency=agency))
    return render_template("signing/list.html", page=page, agency=agency)
