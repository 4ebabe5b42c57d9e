"""Money is integer minor units plus an ISO 4217 currency; this module formats and parses it."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationInfo

# Currencies whose minor unit is not a hundredth.
_EXPONENT = {
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "CLP": 0,
    "ISK": 0,
    "UGX": 0,
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
}


def exponent(currency: str) -> int:
    return _EXPONENT.get(currency.upper(), 2)


def format_money(amount_minor: int | None, currency: str = "USD") -> str:
    if amount_minor is None:
        return ""
    exp = exponent(currency)
    value = Decimal(amount_minor).scaleb(-exp)
    return f"{value:,.{exp}f} {currency.upper()}"


def parse_money(text: str, currency: str) -> int:
    """'1,234.50' -> 123450 for USD. Raises ValueError on malformed or over-precise input."""
    try:
        value = Decimal(text.replace(",", "").strip())
        if not value.is_finite():  # "Infinity", "NaN", "sNaN" parse as Decimals
            raise ValueError(f"{text!r} is not an amount")
        scaled = value.scaleb(exponent(currency))
        exact = scaled == scaled.to_integral_value()
    except ArithmeticError as exc:  # InvalidOperation, Overflow ("1e999999999")
        raise ValueError(f"{text!r} is not an amount") from exc
    if not exact:
        raise ValueError(f"{text!r} has more decimals than {currency} allows")
    return int(scaled)


FORM = "form"  # validation context key: the values come from an HTML form (all text)


def _fractional(value: Any) -> bool:
    return isinstance(value, float) and not value.is_integer()


def _amount_as_number(value: Any, info: ValidationInfo) -> Any:
    """Money in a JSON body is a whole number of minor units: "100", true and 12.5 are refused
    rather than guessed at (100.0 is the number 100, as JSON Schema's "integer" says). A staff
    form's text is parsed (parse_form passes FORM)."""
    form = (info.context or {}).get(FORM)
    if isinstance(value, bool) or (not form and (isinstance(value, str) or _fractional(value))):
        raise ValueError("Give the amount in minor units as a whole number, e.g. 1250 for 12.50")
    return value


# An amount in minor units on an input model (strict for JSON; see _amount_as_number).
Minor = Annotated[int, BeforeValidator(_amount_as_number)]
