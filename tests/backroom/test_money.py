"""Typed amounts: anything that is not a finite amount is a ValueError, the form's message."""

import pytest

from backroom.money import format_money, parse_money


@pytest.mark.parametrize(
    "text,currency,minor", [("1,234.50", "USD", 123450), ("7", "JPY", 7), ("0.125", "KWD", 125)]
)
def test_amounts_parse_to_minor_units(text, currency, minor):
    assert parse_money(text, currency) == minor
    assert (
        format_money(minor, currency)
        .replace(",", "")
        .startswith(text.replace(",", "").rstrip("0").rstrip("."))
    )


@pytest.mark.parametrize("text", ["Infinity", "-inf", "NaN", "sNaN", "1e999999999", "abc", "", "12.345"])
def test_junk_is_a_value_error_never_an_arithmetic_one(text):
    with pytest.raises(ValueError):
        parse_money(text, "USD")
