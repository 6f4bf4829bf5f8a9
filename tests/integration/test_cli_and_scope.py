"""The operator's commands and the scope of each role."""
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services import agencies, users


def user(name):
    return db.session.scalar(select(User).filter_by(username=name))


def test_reporter_acts_only_for_their_agency_and_approver_for_the_units_below(app):
    sct = agencies.get_agency(code="T01.SCT")
    assert users.agencies_in_scope(user=user("canbo.sct")) == {sct.id}
    approver_scope = users.agencies_in_scope(user=user("pheduyet.hn"))
    assert sct.id in approver_scope and agencies.get_agency(code="X00070").id in approver_scope
    assert agencies.get_agency(code="T79.SCT").id not in approver_scope  # another province


def test_users_create_command_reports_field_problems(runner):
    bad = runner.invoke(args=["users", "create", "--username", "x", "--full-name", "A", "--role", "reporter",
                              "--agency", "NOPE", "--password", "short"])
    assert bad.exit_code == 1 and "agency" in bad.output and "NOPE" in bad.output
    good = runner.invoke(args=["users", "create", "--username", "can.bo.cli", "--full-name", "Cán Bộ", "--role", "approver",
                               "--agency", "T79", "--password", "mat-khau-du-dai"])
    assert good.exit_code == 0, good.output
    assert user("can.bo.cli").agency.code == "T79"


def test_users_token_command_prints_a_working_token(runner):
    result = runner.invoke(args=["users", "token", "canbo.sct"])
    token = result.output.strip().splitlines()[-1]
    assert result.exit_code == 0 and users.user_for_token(token).username == "canbo.sct"
    assert runner.invoke(args=["users", "token", "khong.co"]).exit_code == 1


def test_agencies_load_command_is_idempotent_and_prints_a_summary(runner):
    result = runner.invoke(args=["agencies", "load"])
    assert result.exit_code == 0
    assert "0 mới" in result.output and "commune: 3321" in result.output


def test_catalogue_load_command_prints_a_summary(runner):
    result = runner.invoke(args=["catalogue", "load"])
    assert result.exit_code == 0 and "3 không đổi" in result.output
