"""The safe rule grammar used by data forms."""
import pytest

from app.domain.rules import RuleSyntaxError, evaluate, parse_rule


def test_sum_rule_holds_and_fails():
    rule = parse_rule("A = B + C")
    assert rule.codes == {"A", "B", "C"}
    assert rule.holds({"A": 5, "B": 2, "C": 3}) is True
    assert rule.holds({"A": 6, "B": 2, "C": 3}) is False


def test_inequality_and_sum_function():
    assert parse_rule("X <= sum(A, B)").holds({"X": 3, "A": 1, "B": 2}) is True
    assert parse_rule("X <= sum(A, B)").holds({"X": 4, "A": 1, "B": 2}) is False


def test_percentage_from_numerator_and_denominator():
    rule = parse_rule("R = (E + O) / S * 100")
    assert rule.holds({"R": 75, "E": 1, "O": 2, "S": 4}) is True


def test_missing_value_or_zero_division_cannot_be_decided():
    assert parse_rule("A = B + C").holds({"A": 1, "B": 1}) is None
    assert parse_rule("R = E / S * 100").holds({"R": 0, "E": 0, "S": 0}) is None


def test_precedence_and_unary_minus():
    assert evaluate("2 + 3 * 4", {}) == 14
    assert evaluate("-A + 10", {"A": 4}) == 6


@pytest.mark.parametrize("text", ["A = ", "A B", "A = B +", "A = (B", "__import__('os')", "A = B; C", "A + B"])
def test_bad_rules_are_refused_with_the_rule_named(text):
    with pytest.raises(RuleSyntaxError):
        parse_rule(text)
