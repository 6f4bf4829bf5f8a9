"""Obligations and lineage as pure functions."""
from datetime import date

import pytest

from app.domain.catalogue import RegimeDef, Selector, Tier
from app.domain.deadlines import DeadlineKind, DeadlineRule
from app.domain.errors import DomainError
from app.domain.hierarchy import Edge, Unit, current_units, obligations
from app.domain.periods import DECREE09, Frequency, Period


def regime(**kw) -> RegimeDef:
    base = dict(
        code="R", name_vi="R", name_en="", type="periodic", frequency=Frequency.MONTHLY, issuing_agency="BCT",
        legal_basis="x", valid_from=date(2025, 1, 1), valid_to=None, content="x", content_kind="data",
        sending_methods=("system",), cutoff=DECREE09, outline=(), forms=(),
        tiers=(Tier("xã → sở", Selector(levels=("commune",)), "department:VP", DeadlineRule(DeadlineKind.DAY_OF_MONTH, day=17)),
               Tier("tỉnh → bộ", Selector(levels=("province",)), "BCT", DeadlineRule(DeadlineKind.DAY_OF_MONTH, day=20))),
    )
    base.update(kw)
    return RegimeDef(**base)


UNITS = [
    Unit("CP", "Chính phủ", "central"),
    Unit("BCT", "Bộ Công Thương", "ministry", parent="CP"),
    Unit("T01", "Hà Nội", "province", parent="CP", province="T01"),
    Unit("T01.VP", "Văn phòng", "department", "VP", parent="T01", province="T01"),
    Unit("X1", "Xã 1", "commune", parent="T01", province="T01"),
    Unit("X2", "Xã 2", "commune", parent="T01", province="T01"),
]


def test_obligations_route_each_tier_to_its_receiver_with_its_deadline():
    out = obligations(regime(), Period.parse("2026-M11"), UNITS)
    by_agency = {(o.agency, o.tier): o for o in out}
    assert set(by_agency) == {("X1", 0), ("X2", 0), ("T01", 1)}
    assert by_agency[("X1", 0)].receiver == "T01.VP"
    assert by_agency[("T01", 1)].receiver == "BCT"
    assert by_agency[("T01", 1)].deadline.due == date(2026, 11, 20)


def test_a_unit_that_does_not_exist_owes_nothing():
    out = obligations(regime(), Period.parse("2026-M11"), [u for u in UNITS if u.code != "X2"])
    assert "X2" not in {o.agency for o in out}


def test_missing_receiver_is_reported_as_none():
    out = obligations(regime(), Period.parse("2026-M11"), [u for u in UNITS if u.code != "T01.VP"])
    assert {o.receiver for o in out if o.tier == 0} == {None}


def test_department_kinds_filter_reporters():
    tier = Tier("sở → bộ", Selector(levels=("department",), department_kinds=("SCT",)), "BCT", DeadlineRule(DeadlineKind.DAY_OF_MONTH, day=17))
    out = obligations(regime(tiers=(tier,)), Period.parse("2026-M11"), UNITS + [Unit("T01.SCT", "SCT", "department", "SCT", "T01", "T01")])
    assert [o.agency for o in out] == ["T01.SCT"]


def test_period_outside_validity_is_refused():
    with pytest.raises(DomainError, match="ngoài thời gian hiệu lực"):
        obligations(regime(valid_from=date(2026, 6, 1)), Period.parse("2026-M01"), UNITS)


def test_wrong_frequency_is_refused():
    with pytest.raises(DomainError, match="không phù hợp với chế độ"):
        obligations(regime(), Period.parse("2026-Q1"), UNITS)


def test_merged_province_data_goes_to_the_successor():
    edges = [Edge("YB", "LC2", date(2025, 7, 1)), Edge("LC", "LC2", date(2025, 7, 1))]
    assert current_units("YB", date(2026, 1, 1), edges, {"LC2": True}) == {"LC2": 1.0}
    # Before the merger, the old unit is still itself.
    assert current_units("YB", date(2025, 6, 30), edges, {"YB": True}) == {"YB": 1.0}


def test_split_then_merge_keeps_shares_that_add_up_to_one():
    edges = [Edge("A", "B", date(2020, 1, 1), 0.6), Edge("A", "C", date(2020, 1, 1), 0.4),
             Edge("B", "D", date(2025, 7, 1)), Edge("C", "D", date(2025, 7, 1), 0.5), Edge("C", "E", date(2025, 7, 1), 0.5)]
    shares = current_units("A", date(2026, 1, 1), edges, {"D": True, "E": True})
    assert shares == pytest.approx({"D": 0.8, "E": 0.2})
    assert sum(shares.values()) == pytest.approx(1.0)


def test_a_lineage_cycle_does_not_loop_forever():
    edges = [Edge("A", "B", date(2020, 1, 1)), Edge("B", "A", date(2020, 1, 1))]
    assert sum(current_units("A", date(2026, 1, 1), edges, {}).values()) == pytest.approx(1.0)
