"""Review findings 8 and 9: the reminder log and dry run show a provincial administrator only their
own agencies' people; addresses are checked where they enter; one bad message never stops the rest."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select, update

from app.domain.deadlines import VN_TZ
from app.extensions import db
from app.models import MailMessage, User
from app.services import reminders as svc
from app.services import users as user_svc
from app.services.errors import Invalid

PASSWORD = "mot-mat-khau-du-dai-2026"
NOV18 = datetime(2026, 11, 18, 8, 5, tzinfo=VN_TZ)


def _other_province_clerk() -> User:
    return user_svc.create_user(username="canbo.sct.t04", password=PASSWORD, full_name="Cán bộ Sở Công Thương T04",
                                role="reporter", agency_code="T04.SCT", email="canbo.t04@so-congthuong.gov.vn")


def test_a_provincial_administrator_sees_only_their_provinces_reminders(app, client, auth):
    _other_province_clerk()
    user_svc.create_user(username="quantri.hn", password=PASSWORD, full_name="Quản trị Hà Nội", role="admin",
                         agency_code="T01", email="quantri@hanoi.gov.vn")
    svc.send(now=NOV18)
    auth.login("quantri.hn", PASSWORD)
    log = client.get("/admin/reminders").get_data(as_text=True)
    assert "canbo.sct@baocao.local" in log
    assert "canbo.t04@so-congthuong.gov.vn" not in log and "Cán bộ Sở Công Thương T04" not in log
    dry = client.post("/admin/reminders", data={"at": "2026-11-20T08:10"}).get_data(as_text=True)
    assert "canbo.sct@baocao.local" in dry
    assert "canbo.t04@so-congthuong.gov.vn" not in dry and "Cán bộ Sở Công Thương T04" not in dry
    auth.logout()
    auth.login("quantri", "baocao-demo-2026")  # the national administrator sees both
    assert "canbo.t04@so-congthuong.gov.vn" in client.get("/admin/reminders").get_data(as_text=True)


@pytest.mark.parametrize("address", ["x@y\r\nBcc: all@gov.vn", "khong-co-a-cong", "a@b@c.vn", "a" * 300 + "@x.vn"])
def test_a_bad_address_is_refused_where_it_enters(app, address):
    with pytest.raises(Invalid) as err:
        user_svc.create_user(username="nguoi.moi", password=PASSWORD, full_name="Người mới", role="reporter",
                             agency_code="T01.SCT", email=address)
    assert [p.where for p in err.value.problems] == ["email"]


def test_control_characters_are_stripped_from_names(app):
    u = user_svc.create_user(username="nguoi.moi", password=PASSWORD, full_name="Nguyễn\r\nVăn\x00 A\u202e",
                             role="reporter", agency_code="T01.SCT", email="  Nguoi.Moi@Hanoi.gov.vn ")
    assert u.full_name == "Nguyễn Văn A" and u.email == "Nguoi.Moi@hanoi.gov.vn"


def test_one_bad_stored_address_fails_alone_and_delivery_goes_on(app, smtp):
    _other_province_clerk()
    svc.send(now=NOV18)
    messages = db.session.scalars(select(MailMessage).order_by(MailMessage.id)).all()
    assert len(messages) >= 2
    bad = messages[0]
    # an address stored before addresses were checked (or written by hand into the database)
    db.session.execute(update(MailMessage).where(MailMessage.id == bad.id).values(to_address="x@y.vn\r\nBcc: z@w.vn"))
    db.session.expire_all()
    result = svc.deliver(now=NOV18)
    assert result.failed == 1 and result.sent == len(messages) - 1
    db.session.refresh(bad)
    assert bad.status == "failed" and "không tạo được thư" in bad.last_error
    assert len(smtp.messages) == len(messages) - 1
    # the next run is not stuck on it
    assert svc.deliver(now=NOV18).sent == 0
