"""Stored identifiers as people read them."""

from __future__ import annotations


def words(value) -> str:
    """A stored status or code as a person reads it: 'payment_failed' -> 'Payment failed'."""
    text = str(getattr(value, "value", value) or "").replace("_", " ")
    return text[:1].upper() + text[1:]
