"""Flask-WTF forms (CSRF on every one)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional


class LoginForm(FlaskForm):
    username = StringField(_l("Tên đăng nhập"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired(), Length(max=200)])


class UserForm(FlaskForm):
    username = StringField(_l("Tên đăng nhập"), validators=[DataRequired(), Length(max=80)])
    full_name = StringField(_l("Họ và tên"), validators=[DataRequired(), Length(max=255)])
    email = EmailField(_l("Thư điện tử"), validators=[Optional(), Length(max=255)])
    role = SelectField(_l("Vai trò"), validators=[DataRequired()])
    agency = StringField(_l("Mã cơ quan"), validators=[DataRequired(), Length(max=40)])
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired(), Length(max=200)])


class EmptyForm(FlaskForm):
    """For POST buttons: only the CSRF token."""
