"""Like-for-like comparisons: over the units that reported in both periods, with the coverage
stated, in percentage points for percentages and ratios."""
from decimal import Decimal

from app.domain.aggregation import Partial, compare
from app.domain.catalogue import IndicatorDef

SALES = IndicatorDef(code="S", name_vi="Doanh thu", name_en="Sales", unit="tỷ đồng", value_type="number", aggregation="sum")
SHARE = IndicatorDef(code="R", name_vi="Tỷ lệ đúng hạn", name_en="On time", unit="%", value_type="percent", aggregation="ratio",
                     numerator=("ON",), denominator=("ALL",), scale=100)
RATE = IndicatorDef(code="P", name_vi="Tỷ lệ hộ nghèo", name_en="Poverty rate", unit="%", value_type="percent", aggregation="average")


def cells(**values):
    return {(k, ""): Partial.of(Decimal(v)) for k, v in values.items()}


def test_one_province_now_against_32_last_year_compares_that_province_only_and_says_so():
    now = {"T01": cells(S=110)}
    before = {f"T{i:02d}": cells(S=100) for i in range(1, 33)}
    c = compare(SALES, now, before)
    assert (c.current, c.before, c.change) == (Decimal(110), Decimal(100), Decimal(110))  # +10 %, not 3,4 %
    assert (c.common, c.now_units, c.before_units, c.partial) == (1, 1, 32, True)


def test_the_same_units_in_both_periods_is_not_partial():
    c = compare(SALES, {"A": cells(S=50), "B": cells(S=60)}, {"A": cells(S=40), "B": cells(S=60)})
    assert c.change == Decimal(110) and not c.partial and not c.points


def test_a_ratio_is_recomputed_from_summed_parts_and_changes_in_points():
    now = {"A": cells(ON=60, ALL=100), "B": cells(ON=30, ALL=50)}
    before = {"A": cells(ON=50, ALL=100), "B": cells(ON=20, ALL=50)}
    c = compare(SHARE, now, before)
    assert c.current == Decimal(60)  # 90 / 150, not the average of 60 % and 60 %
    assert c.points and c.change == c.current - c.before and Decimal("13.3") < c.change < Decimal("13.4")  # 60 − 46,67


def test_a_percentage_changes_in_points_not_as_a_ratio():
    c = compare(RATE, {"A": cells(P="67.7")}, {"A": cells(P="65.2")})
    assert c.points and c.change == Decimal("2.5")  # not "103,8 %"


def test_no_common_unit_gives_no_comparison():
    c = compare(SALES, {"A": cells(S=1)}, {"B": cells(S=1)})
    assert c.change is None and c.common == 0 and c.partial


def test_the_totals_shortcut_gives_the_same_answer_and_is_not_taken_when_units_differ_or_for_ratios():
    now, before = {"A": cells(S=50), "B": cells(S=60)}, {"A": cells(S=40), "B": cells(S=60)}
    assert compare(SALES, now, before, totals=(Decimal(110), Decimal(100))) == compare(SALES, now, before)
    wrong = (Decimal(999), Decimal(1))  # totals that would lie are ignored when a unit is missing in one period
    assert compare(SALES, {"A": cells(S=50)}, before, totals=wrong) == compare(SALES, {"A": cells(S=50)}, before)
    ratio_now = {"A": cells(ON=60, ALL=100), "B": cells(ON=30)}  # B: a numerator without its denominator
    ratio_before = {"A": cells(ON=50, ALL=100), "B": cells(ON=20)}
    assert compare(SHARE, ratio_now, ratio_before, totals=wrong) == compare(SHARE, ratio_now, ratio_before)
