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
