"""Numbers as Vietnamese people write them, as machines do, and what is refused."""
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.numbers import NotANumber, canonical, format_vn, parse_number


@pytest.mark.parametrize("text, expected", [
    ("1.234.567,5", "1234567.5"),
    ("1.234", "1234"),  # a dot before three digits groups thousands (Vietnamese first)
    ("12.500", "12500"),
    ("1234567,5", "1234567.5"),
    ("1234567.5", "1234567.5"),  # a dot that cannot group is a decimal mark
    ("0.250", "0.25"),
    ("0,5", "0.5"),
    ("-1.234,75", "-1234.75"),
    ("+42", "42"),
    (" 1 234 567 ", "1234567"),
    ("1\u00a0234,5", "1234.5"),
    ("0", "0"),
    ("0,0000001", "0"),  # below the stored precision of 6 places
    ("1,0000005", "1.000000"),  # half-even to 6 places
])
def test_parses_vietnamese_and_plain_forms(text, expected):
    assert parse_number(text) == Decimal(expected)


@pytest.mark.parametrize("text, says", [
    ("1,234,567", "kiểu Anh"),
    ("1,234.5", "kiểu Anh"),
    ("abc", "không phải là số"),
    ("1.23.4", "không phải là số"),
    ("12,3,4", "không phải là số"),
    ("1e5", "không phải là số"),
    ("", "ô trống"),
    ("1" * 18, "quá lớn"),
])
def test_refuses_what_is_ambiguous_or_not_a_number(text, says):
    with pytest.raises(NotANumber, match=says):
        parse_number(text)


def test_native_numbers_from_json_and_excel():
    assert parse_number(5) == Decimal(5)
    assert parse_number(0.1 + 0.2) == Decimal("0.3")  # float noise below 6 places is dropped
    assert parse_number(1234567.5) == Decimal("1234567.5")
    for bad in (True, float("nan"), float("inf")):
        with pytest.raises(NotANumber):
            parse_number(bad)


def test_formats_the_vietnamese_way():
    assert format_vn(Decimal("1234567.5")) == "1.234.567,5"
    assert format_vn(Decimal("-1000")) == "-1.000"
    assert format_vn(Decimal("0.125"), 1) == "0,1"
    assert format_vn(Decimal("1E+3")) == "1.000"
    assert format_vn(None) == ""
    assert canonical(Decimal("1.500000")) == "1.5"
    assert canonical(Decimal("1E+3")) == "1000"


@given(st.decimals(min_value=-10**15, max_value=10**15, places=6, allow_nan=False, allow_infinity=False))
def test_what_is_shown_reads_back_the_same(value):
    assert parse_number(format_vn(value)) == parse_number(value)
