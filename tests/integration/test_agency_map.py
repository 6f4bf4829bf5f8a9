"""The real agency map loaded from the reference data."""
from datetime import date

import pytest
from sqlalchemy import func, select

from app.domain.periods import Period
from app.extensions import db
from app.models import Agency, AgencyLineage
from app.services import agencies, catalogue
from app.services.errors import Invalid, NotFound

TODAY = date(2026, 11, 22)


def count(level, on):
    return db.session.scalar(select(func.count()).select_from(
        agencies.search_agencies(level=level, on=on).subquery()))


def test_the_map_after_the_reform_has_34_provinces_3321_communes_17_ministries(app):
    assert count("province", TODAY) == 34
    assert count("commune", TODAY) == 3321
    assert count("ministry", TODAY) == 17


def test_the_map_before_the_reform_has_63_provinces_and_22_ministries(app):
    assert count("province", date(2025, 6, 30)) == 63
    assert count("commune", date(2025, 6, 30)) == 0  # pre-reform communes are not in the reference data
    assert count("ministry", date(2025, 2, 28)) == 22


def test_old_provinces_close_on_30_june_2025_with_lineage(app):
    yen_bai = agencies.get_agency(code="T15-63")
    assert yen_bai.valid_to == date(2025, 6, 30) and yen_bai.name == "Tỉnh Yên Bái"
    _, after = agencies.lineage_of(agency=yen_bai)
    assert [(link.successor.code, link.successor.name) for link in after] == [("T15", "Lào Cai")]


def test_a_reused_code_is_two_different_units(app):
    new, old = agencies.get_agency(code="T15"), agencies.get_agency(code="T15-63")
    assert new.official_code == old.official_code == "15" and new.id != old.id


def test_old_unit_data_belongs_to_its_current_successor(app):
    assert agencies.current_units_for(code="T10-63", on=TODAY) == {"T15": 1.0}  # Lào Cai (old) → Lào Cai (new)
    assert agencies.current_units_for(code="BKHDT", on=TODAY) == {"BTC": 1.0}
    assert agencies.current_units_for(code="T15", on=TODAY) == {"T15": 1.0}


def test_every_pre_reform_province_has_a_successor(app):
    old = db.session.scalars(select(Agency).where(Agency.code.like("T%-63"))).all()
    linked = set(db.session.scalars(select(AgencyLineage.predecessor_id)))
    assert len(old) == 63 and {a.id for a in old} <= linked


def test_load_is_idempotent(app):
    again = agencies.load_agencies()
    assert (again.created, again.updated, again.links_created, again.lineage_created) == (0, 0, 0, 0)


def test_children_of_a_province_are_its_departments_and_communes(app):
    hanoi = agencies.get_agency(code="T01")
    kids = agencies.children_of(agency=hanoi, on=TODAY)
    levels = {a.level for a in kids}
    assert levels == {"department", "commune"}
    assert sum(a.level == "commune" for a in kids) == 126  # provinces_2025.csv


def test_unknown_agency_code_is_named(app):
    with pytest.raises(NotFound, match="NOPE"):
        agencies.get_agency(code="NOPE")
    with pytest.raises(NotFound, match="NOPE"):
        db.session.scalars(agencies.search_agencies(parent="NOPE")).all()
    with pytest.raises(Invalid, match="galaxy"):
        agencies.search_agencies(level="galaxy")


def obligations(code, key):
    definition, _ = catalogue.regime_definition(catalogue.get_regime(code=code).current_version)
    return agencies.obligations_for(regime=definition, period=Period.parse(key))


def test_who_owes_the_quarterly_admin_procedure_report(app):
    out = obligations("VPCP-TTHC", "2026-Q4")
    tier1 = [o for o in out if o.tier == 0]
    tier2 = [o for o in out if o.tier == 1]
    # the receivers do not report to themselves (separation of duties): each province's office (VP)
    # receives tier 1 and reports nothing there; VPCP receives tier 2
    assert len(tier1) == 3321 + 34 * 11 and len(tier2) == 34 + 16
    assert not any(o.agency.endswith(".VP") for o in tier1) and "VPCP" not in {o.agency for o in tier2}
    by_agency = {o.agency: o for o in tier1}
    assert by_agency["X00070"].receiver == "T01.VP"  # Phường Hoàn Kiếm → Văn phòng UBND Hà Nội
    assert all(o.receiver for o in out)
    assert {o.receiver for o in tier2} == {"VPCP"}


def test_retail_report_is_owed_by_each_department_of_industry_and_trade(app):
    out = obligations("BCT-BANLE", "2026-M11")
    tier1 = {o.agency: o for o in out if o.tier == 0}
    assert len(tier1) == 34 and tier1["T01.SCT"].receiver == "T01"
    assert tier1["T01.SCT"].deadline.due == date(2026, 11, 17)


def test_no_obligation_outside_the_regime_validity(app):
    with pytest.raises(Invalid, match="ngoài thời gian hiệu lực"):
        obligations("BCT-BANLE", "2025-M06")
