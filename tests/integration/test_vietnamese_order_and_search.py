"""Names in Vietnamese order and searches that ignore diacritics (ICU through PyICU), everywhere a
list of names or a search box appears; the administrator's agency picker."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.adapters.collation import fold, sort_key, sorted_vi
from app.extensions import db
from app.models import Agency
from app.services import agencies as agency_svc
from app.services import catalogue as catalogue_svc
from app.services import users as users_svc
from app.services.errors import Invalid
from tests.integration.test_submissions import user


def test_the_vietnamese_alphabet_and_tones():
    names = ["Vĩnh Long", "Điện Biên", "Đắk Lắk", "Đồng Nai", "Cao Bằng", "Cà Mau", "An Giang", "Bắc Ninh", "Bà Rịa", "Dak Nong"]
    assert sorted_vi(names) == ["An Giang", "Bà Rịa", "Bắc Ninh", "Cà Mau", "Cao Bằng", "Dak Nong", "Đắk Lắk", "Điện Biên",
                                "Đồng Nai", "Vĩnh Long"]
    assert sorted(["Ơ", "Ô", "O", "Ư", "U"], key=sort_key) == ["O", "Ô", "Ơ", "U", "Ư"]  # letters of their own
    assert fold("Xã Ba Vì") == "xa ba vi" and fold("XĂNG DẦU  Đồng Nai") == "xang dau dong nai"


def test_the_provinces_are_listed_in_vietnamese_order(app):
    provinces = [a.name for a in agency_svc.children_of(agency=agency_svc.get_agency(code="CP"), on=None) if a.level == "province"]
    assert provinces and provinces == sorted_vi(provinces)
    names = [n.removeprefix("Tỉnh ").removeprefix("Thành phố ") for n in provinces]
    assert names.index("Cà Mau") < names.index("Cao Bằng") and names.index("Đồng Nai") < names.index("Vĩnh Long")


def test_searches_ignore_diacritics_and_case(app):
    found = [a.name for a in db.session.scalars(agency_svc.search_agencies(q="ba vi"))]
    assert "Xã Ba Vì" in found
    assert [a.name for a in db.session.scalars(agency_svc.search_agencies(q="BA VÌ"))] == found
    assert db.session.scalars(agency_svc.search_agencies(q="%")).first() is None  # a wildcard is a character, not "everything"
    regimes = [r.code for r in db.session.scalars(catalogue_svc.list_regimes(q="ban le"))]
    assert "BCT-BANLE" in regimes
    indicators = [i.code for i in db.session.scalars(catalogue_svc.list_indicators(q="luu tru"))]
    assert indicators and all("lưu trú" in db.session.scalar(select(catalogue_svc.Indicator.name_vi).where(
        catalogue_svc.Indicator.code == c)).lower() for c in indicators)


def test_a_renamed_agency_is_found_and_ordered_by_its_new_name(app):
    row = db.session.scalar(select(Agency).where(Agency.code == "T01.SCT"))
    row.name = "Sở Công Thương và Xúc tiến Đầu tư"
    db.session.flush()
    assert row.code in [a.code for a in db.session.scalars(agency_svc.search_agencies(q="xuc tien dau tu"))]
    assert row.sort_name == sort_key(row.name)


def test_the_picker_shows_the_province_and_names_resolve_or_are_refused_with_choices(app, client, auth):
    picks = agency_svc.pick(q="ba vi")
    assert any(p.name == "Xã Ba Vì" and p.province == "Thành phố Hà Nội" for p in picks)
    auth.login("quantri")
    answer = client.get("/agencies/pick?q=ba%20vi").get_json()
    assert any(a["label"] == "Xã Ba Vì — Thành phố Hà Nội" for a in answer)
    hanoi = next(p for p in picks if p.name == "Xã Ba Vì" and p.province == "Thành phố Hà Nội")
    made = users_svc.create_user(username="canbo.bavi", password="một câu mật khẩu dài", full_name="Cán bộ Ba Vì",
                                 role="reporter", agency_code=hanoi.code, actor=user("quantri"))
    assert made.agency.name == "Xã Ba Vì" and made.agency.code == hanoi.code
    assert agency_svc.resolve(text="phường hoàn kiếm").name == "Phường Hoàn Kiếm"  # a unique name, typed without care
    from collections import Counter

    today = [a for a in db.session.scalars(select(Agency).where(Agency.level == "commune")) if a.exists_on(date.today())]
    shared = [name for name, n in Counter(a.name for a in today).items() if n > 1]
    assert shared, "the map has communes of the same name in different provinces"
    try:
        agency_svc.resolve(text=shared[0])
        raise AssertionError("a name shared by several agencies must not resolve")
    except Invalid as exc:
        assert "chọn theo mã" in str(exc) and str(exc).count(" — ") >= 2
    try:
        users_svc.create_user(username="canbo.doan", password="một câu mật khẩu dài", full_name="Đoán mã", role="reporter",
                              agency_code="T99.XYZ", actor=user("quantri"))
        raise AssertionError("an unknown code must be refused")
    except Invalid as exc:
        assert "chọn trong danh sách" in str(exc.problems[0].message)
