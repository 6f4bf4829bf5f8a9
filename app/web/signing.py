"""Digital signatures on the web: check any signed PDF brought from outside, and the signing list
(danh mục ký) of the reports the user may read."""
from __future__ import annotations

from datetime import timedelta

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.auth import role_required
from app.models import Role
from app.models.base import utcnow
from app.services import pki, signing
from app.services.errors import Invalid, NotFound
from app.web.messages import flash

from . import bp
from .forms import EmptyForm
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


class CertificateForm(FlaskForm):
    file = FileField(_l("Chứng thư số (.cer, .crt, .pem) hoặc kho khóa PKCS#12 (.p12, .pfx)"),
                     validators=[FileRequired(_l("Chọn tệp chứng thư số hoặc kho khóa")),
                                 FileAllowed(["cer", "crt", "pem", "der", "p12", "pfx"], _l("Chỉ nhận .cer, .crt, .pem, .der, .p12, .pfx"))])
    agency = StringField(_l("Mã đơn vị"), validators=[DataRequired(_l("Nhập mã đơn vị")), Length(max=40)])
    username = StringField(_l("Tài khoản người giữ chứng thư (để trống: chứng thư của đơn vị)"), validators=[Optional(), Length(max=80)])
    password = PasswordField(_l("Mật khẩu kho khóa (chỉ với .p12, .pfx)"), validators=[Optional(), Length(max=200)])


@bp.route("/admin/certificates", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def admin_certificates():
    """Certificates linked to agencies and to officials' accounts; add one (a certificate the
    official signs with on their own token, or a keystore the server signs with), retire one."""
    form, status = CertificateForm(), 200
    if form.validate_on_submit():
        try:
            agency = pki.in_scope(actor=current_user, agency_code=form.agency.data)
            data = form.file.data.read(pki.MAX_FILE + 1)
            username = (form.username.data or "").strip() or None
            if form.file.data.filename.lower().endswith((".p12", ".pfx")):
                row = pki.add_keystore(agency_code=agency.code, data=data, password=(form.password.data or "").encode(), username=username)
            else:
                row = pki.link_certificate(agency_code=agency.code, data=data, username=username)
            flash(_("Đã gắn chứng thư số %(subject)s.", subject=row.subject), "success")
            return redirect(url_for("web.admin_certificates"))
        except (Invalid, NotFound) as exc:
            form.file.errors.append(str(exc))
            status = 422
    elif request.method == "POST":
        status = 422
    page = paginate(pki.all_certificates(actor=current_user))
    return render_template("signing/certificates.html", form=form, page=page, retire=EmptyForm(), now=utcnow(),
                           soon=utcnow() + timedelta(days=pki.WARN_DAYS)), status


@bp.route("/admin/certificates/<int:certificate_id>/retire", methods=["POST"])
@role_required(Role.ADMIN)
def admin_certificate_retire(certificate_id):
    if EmptyForm().validate_on_submit():
        row = pki.in_scope(actor=current_user, certificate_id=certificate_id)
        pki.retire(certificate_id=row.id)
        flash(_("Chứng thư số %(subject)s thôi dùng để ký; những gì đã ký vẫn kiểm tra được.", subject=row.subject), "success")
    return redirect(url_for("web.admin_certificates"))
