"""Normalization shared by the customer search columns and the search query."""

from __future__ import annotations

import re

_NON_DIGITS = re.compile(r"\D+")


def lower_or_none(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value or None


def digits(value: str | None) -> str | None:
    value = _NON_DIGITS.sub("", value or "")
    return value or None


# ITU country calling codes are prefix-free: these two-digit ones, 1 and 7, else three digits.
_TWO_DIGIT_CODES = frozenset(
    [
        "20",
        "27",
        "30",
        "31",
        "32",
        "33",
        "34",
        "36",
        "39",
        "40",
        "41",
        "43",
        "44",
        "45",
        "46",
        "47",
        "48",
        "49",
        "51",
        "52",
        "53",
        "54",
        "55",
        "56",
        "57",
        "58",
        "60",
        "61",
        "62",
        "63",
        "64",
        "65",
        "66",
        "81",
        "82",
        "84",
        "86",
        "90",
        "91",
        "92",
        "93",
        "94",
        "95",
        "98",
    ]
)


def national_digits(value: str | None) -> str | None:
    """A phone number's national significant digits, however it was typed: "+1 212 555 0102",
    "001 212 555 0102", "1-212-555-0102", "(212) 555-0102" and "2125550102" all give
    "2125550102"; "+44 20 7946 0000" and "020 7946 0000" give "2079460000". International
    forms lose their country code, national ones their trunk prefix (a leading 0, or the
    North American 1 before ten digits). Also a search query's form, so a prefix matches."""
    text = (value or "").strip()
    d = digits(text)
    if not d:
        return None
    if text.startswith("+") or d.startswith("00"):
        d = d.lstrip("0") if not text.startswith("+") else d
        code = 1 if d[:1] in ("1", "7") else 2 if d[:2] in _TWO_DIGIT_CODES else 3
        d = d[code:]
    elif len(d) == 11 and d.startswith("1"):
        d = d[1:]
    return d.lstrip("0") or None
