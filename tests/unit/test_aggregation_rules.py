"""Aggregation rules, each on its own: sum, average, ratio from summed parts, min, max, latest,
not aggregatable; breakdowns; missing is not zero; re-attribution with weights; completeness."""
from datetime import UTC, datetime
from decimal import Decimal as D

from app.domain.aggregation import Partial, change, classify, combine, completeness, reattribute, reporting, value
from app.domain.catalogue import IndicatorDef


def ind(code, aggregation="sum", **kw):
    return IndicatorDef(code, code, code, "đơn vị", aggregation=aggregation, **kw)


def cells(**values):
    """indicator → list of agency values (None = did not report)."""
    return {(k, ""): combine(Partial.of(D(v), datetime(2026, 1, i + 1, tzinfo=UTC)) for i, v in enumerate(vs) if v is not None)
            for k, vs in values.items()}


def test_sum_average_min_max_latest():
    c = cells(A=[10, 20, None, 30])
    assert value(ind("A"), c) == 60
    assert value(ind("A", "average"), c) == 20  # over the three that reported: missing is not zero
    assert value(ind("A", "min"), c) == 10 and value(ind("A", "max"), c) == 30
    assert value(ind("A", "latest"), c) == 30  # the most recently reported value
    assert reporting(ind("A"), c) == 3


def test_a_ratio_is_recomputed_from_summed_parts_never_averaged():
    rate = ind("R", "ratio", numerator=("OK",), denominator=("ALL",), scale=100.0)
    c = cells(OK=[9, 1], ALL=[10, 90])  # 90 % and 1,1 %: the average of rates would say 45,6 %
    assert value(rate, c) == 10
    assert value(rate, cells(OK=[0], ALL=[0])) is None  # 0/0 is unknown, not 0 %
    assert value(rate, cells(OK=[None], ALL=[5])) is None


def test_text_and_not_aggregatable_indicators_have_no_total():
    c = cells(A=[1, 2])
    assert value(ind("A", "none"), c) is None
    assert value(IndicatorDef("A", "A", "A", "", value_type="text", aggregation="latest"), c) is None


def test_nothing_reported_is_missing_not_zero():
    assert value(ind("A"), {}) is None and value(ind("A"), cells(A=[None, None])) is None


def test_breakdowns_roll_up_per_option_and_match_the_total():
    c = {("A", "GIOI_TINH=NAM"): combine([Partial.of(D(3)), Partial.of(D(4))]),
         ("A", "GIOI_TINH=NU"): combine([Partial.of(D(5)), Partial.of(D(6))]),
         ("A", ""): combine([Partial.of(D(8)), Partial.of(D(10))])}
    assert value(ind("A"), c, "GIOI_TINH=NAM") + value(ind("A"), c, "GIOI_TINH=NU") == value(ind("A"), c)


def test_merging_is_associative_so_communes_provinces_nation_agree():
    parts = [Partial.of(D(v)) for v in (5, 7, 11, 13)]
    left = combine([combine(parts[:2]), combine(parts[2:])])
    flat = combine(parts)
    assert (left.n, left.total, left.minimum, left.maximum) == (flat.n, flat.total, flat.minimum, flat.maximum) == (4, 36, 5, 13)


def test_reattribution_follows_lineage_weights():
    old = {"X_OLD": {("A", ""): Partial.of(D(100))}, "X_KEEP": {("A", ""): Partial.of(D(10))}}
    lineage = {"X_OLD": {"X_NEW1": 0.6, "X_NEW2": 0.4}}
    new = reattribute(old, lineage)
    assert value(ind("A"), new["X_NEW1"]) == 60 and value(ind("A"), new["X_NEW2"]) == 40
    assert value(ind("A"), new["X_KEEP"]) == 10
    total = combine(p for u in new.values() for p in u.values())
    assert total.total == 110  # nothing lost or doubled
    assert value(ind("A", "max"), new["X_NEW2"]) == 100  # a maximum is a value, not a share
    merged = reattribute({"P1": {("A", ""): Partial.of(D(3))}, "P2": {("A", ""): Partial.of(D(4))}}, {"P1": {"P": 1.0}, "P2": {"P": 1.0}})
    assert value(ind("A"), merged["P"]) == 7


def test_change_against_an_earlier_period():
    assert change(D(110), D(100)) == 110 and change(D(1), None) is None and change(D(1), D(0)) is None


def test_completeness_counts_only_obliged_agencies_and_never_exceeds_100_percent():
    status = {"A": ("approved", True), "B": ("submitted", False), "C": ("returned", None), "D": ("draft", None),
              "OUTSIDER": ("approved", True)}
    c = completeness(["A", "B", "C", "D", "E", "A"], status)
    assert (c.expected, c.submitted, c.on_time, c.late, c.returned, c.draft, c.missing) == (5, 2, 1, 1, 1, 1, 1)
    assert c.rate == 40 and c.on_time_rate == 20
    full = completeness(["A"], status)
    assert full.rate == 100
    assert completeness([], status).rate == 0
    assert classify(None, None) == "missing"


def test_has_value_agrees_with_value_for_every_rule_and_edge():
    """has_value() is value() is not None, without computing the figure (the national view asks it
    for every unit and indicator)."""
    from decimal import Decimal

    from app.domain import aggregation as rules
    from app.domain.aggregation import Partial
    from app.domain.catalogue import IndicatorDef

    def ind(code, aggregation, **kw):
        return IndicatorDef(code=code, name_vi=code, name_en=code, unit="%" if aggregation == "ratio" else "người", value_type=kw.pop("value_type", "number"),
                            aggregation=aggregation, **kw)

    cases = [Partial(), Partial(Decimal(0), None), Partial(Decimal(2), Decimal(10), Decimal(1), Decimal(9), None, None),
             Partial(Decimal(1), Decimal(0), Decimal(0), Decimal(0), None, Decimal(0))]
    indicators = [ind("A", a) for a in ("sum", "average", "min", "max", "latest", "none")] + [ind("T", "sum", value_type="text")]
    for i in indicators:
        for p in cases:
            cells = {(i.code, ""): p}
            assert rules.has_value(i, cells) == (rules.value(i, cells) is not None), (i.aggregation, p)
        assert rules.has_value(i, {}) is False
    ratio = ind("R", "ratio", numerator=("N",), denominator=("D",), scale=100)
    for n in cases:
        for d in cases:
            cells = {("N", ""): n, ("D", ""): d}
            assert rules.has_value(ratio, cells) == (rules.value(ratio, cells) is not None)
