"""Flask-WTF forms (CSRF on every one)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import DateField, EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional


class LoginForm(FlaskForm):
    username = StringField(_l("Tên đăng nhập"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired(), Length(max=200)])


class UserForm(FlaskForm):
    username = StringField(_l("Tên đăng nhập"), validators=[DataRequired(), Length(max=80)])
    full_name = StringField(_l("Họ và tên"), validators=[DataRequired(), Length(max=255)])
    email = EmailField(_l("Thư điện tử"), validators=[Optional(), Length(max=255)])
    role = SelectField(_l("Vai trò"), validators=[DataRequired()])
    agency = StringField(_l("Cơ quan, đơn vị (gõ tên để chọn)"), validators=[DataRequired(), Length(max=255)],
                         render_kw={"data-agency-picker": "", "autocomplete": "off"})
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired(), Length(max=200)])


class EmptyForm(FlaskForm):
    """For POST buttons: only the CSRF token."""


class UploadForm(FlaskForm):
    file = FileField(_l("Tệp Excel đã điền (.xlsx)"), validators=[
        FileRequired(_l("Chọn tệp Excel để tải lên")),
        FileAllowed(["xlsx"], _l("Chỉ nhận tệp .xlsx (mẫu tải từ hệ thống)")),
    ])


class ReturnForm(FlaskForm):
    reason = TextAreaField(_l("Lý do"), validators=[DataRequired(_l("Cần ghi lý do")), Length(max=2000)])


class RequestForm(FlaskForm):
    regime = SelectField(_l("Dùng biểu mẫu của chế độ"), validators=[DataRequired()])
    kind = SelectField(_l("Loại"), choices=[SelectChoice("ad_hoc", _l("Đột xuất")), SelectChoice("thematic", _l("Chuyên đề"))])
    title = StringField(_l("Tên yêu cầu báo cáo"), validators=[DataRequired(), Length(max=500)])
    content = TextAreaField(_l("Nội dung yêu cầu"), validators=[Optional(), Length(max=10000)])
    agencies = TextAreaField(_l("Mã các đơn vị báo cáo (cách nhau bởi dấu cách hoặc dấu phẩy)"),
                             validators=[DataRequired(), Length(max=20000)])
    data_from = DateField(_l("Số liệu từ ngày"), validators=[DataRequired()])
    data_to = DateField(_l("Đến ngày"), validators=[DataRequired()])
    deadline = DateField(_l("Hạn gửi"), validators=[DataRequired()])


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Mật khẩu hiện tại"), validators=[DataRequired(), Length(max=200)])
    new = PasswordField(_l("Mật khẩu mới"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(_l("Nhập lại mật khẩu mới"), validators=[DataRequired(), EqualTo("new", _l("Hai lần nhập không khớp"))])


class TokenForm(FlaskForm):
    name = StringField(_l("Tên gợi nhớ (hệ thống nào dùng mã này)"), validators=[DataRequired(), Length(max=100)])
