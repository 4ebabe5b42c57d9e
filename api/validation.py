"""Validation errors in a shop worker's words, per form field: "Enter a name", "Country must be
a two-letter code such as US", never pydantic's "Input should be a valid string", a model's class
name or API wording (minor units). Every staff and storefront form reads its errors from here."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

# Words for field names that do not read well on their own.
LABELS = {
    "sku": "SKU",
    "email": "e-mail address",
    "phone": "phone number",
    "tax_rate_bp": "tax rate",
    "weight_g": "weight",
    "length_mm": "length",
    "width_mm": "width",
    "height_mm": "height",
    "warranty_months": "warranty (months)",
    "requested_limit": "credit limit",
    "requested_limit_minor": "credit limit",
    "opening_float": "opening float",
    "closing_count": "counted cash",
    "ship_country": "country",
    "ship_postcode": "postcode",
    "ship_line1": "address",
    "full_name": "full name",
    "username": "user name",
    "q": "search",
}
# What a pattern asks for, in words (keyed by the pattern, so every field using it reads alike).
PATTERNS = {
    r"^[A-Z]{2}$": "must be a two-letter code such as US",
    r"^[A-Z]{3}$": "must be a three-letter code such as USD",
    r"^[A-Za-z0-9._-]+$": "may hold only letters, digits, dots, dashes and underscores",
}
# Fields picked from a list rather than typed: "Choose a branch", not "Enter a branch".
CHOSEN = re.compile(r"(_id|_ids|^severity|^status|^channel|^kind|^level|^role|^branch|^country)$")
_SUFFIXES = ("_minor", "_id", "_ids", "_bp", "_g", "_mm")
_NUMBER = {"int_parsing", "int_type", "int_from_float"}
_DECIMAL = {"float_parsing", "float_type", "decimal_parsing", "decimal_type", "finite_number"}
_WHEN = {
    "date_parsing": "a date such as 2026-12-31",
    "date_type": "a date such as 2026-12-31",
    "date_from_datetime_parsing": "a date such as 2026-12-31",
    "date_from_datetime_inexact": "a date such as 2026-12-31",
    "datetime_parsing": "a date and time such as 2026-12-31 09:00",
    "datetime_type": "a date and time such as 2026-12-31 09:00",
    "datetime_from_date_parsing": "a date and time such as 2026-12-31 09:00",
    "time_parsing": "a time such as 09:00",
    "time_type": "a time such as 09:00",
}


def label(name: str, model: type[BaseModel] | None = None) -> str:
    """The words for a field: its Field(title=...), LABELS, or its name without unit suffixes."""
    field = (model.model_fields.get(name) if model else None) if name else None
    if field is not None and field.title:
        return field.title
    if name in LABELS:
        return LABELS[name]
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name.removesuffix(suffix)
            break
    return name.replace("_", " ")


def _a(word: str) -> str:
    return ("an " if word[:1].lower() in "aeio" else "a ") + word


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def message(err: Mapping[str, Any], model: type[BaseModel] | None = None) -> str:
    """One pydantic error as a sentence about its field."""
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    names = [str(p) for p in err.get("loc", ()) if isinstance(p, str)]
    name = names[-1] if names else ""
    what = label(name, model if len(names) == 1 else None)
    title = what[:1].upper() + what[1:]
    blank = err.get("input") is None or (isinstance(err.get("input"), str) and not err["input"].strip())
    if kind == "missing" or (blank and kind.endswith(("_type", "_parsing", "too_short"))):
        return ("Choose " if CHOSEN.search(name) else "Enter ") + _a(what)
    if kind == "string_too_short":
        return f"{title} needs at least {ctx.get('min_length')} characters"
    if kind == "string_too_long":
        return f"{title} can be at most {_number(ctx.get('max_length'))} characters"
    if kind == "string_pattern_mismatch":
        return f"{title} {PATTERNS.get(str(ctx.get('pattern')), 'is not in the expected form')}"
    if kind in _NUMBER:
        return f"{title} must be a whole number"
    if kind in _DECIMAL:
        return f"{title} must be a number such as 12.50"
    if kind == "decimal_max_places":
        return f"{title} has too many decimals"
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        if bound == 0:
            return (
                f"{title} cannot be negative"
                if kind == "greater_than_equal"
                else f"{title} must be more than 0"
            )
        return (
            f"{title} is too small"
            if name.endswith("_minor")
            else f"{title} must be at least {_number(bound)}"
        )
    if kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        return (
            f"{title} is too large"
            if name.endswith("_minor")
            else f"{title} must be {_number(bound)} or less"
        )
    if kind in ("enum", "literal_error"):
        return f"{title} must be one of {str(ctx.get('expected', '')).replace(chr(39), '')}"
    if kind in ("bool_parsing", "bool_type"):
        return f"{title} must be yes or no"
    if kind in _WHEN:
        return f"{title} must be {_WHEN[kind]}"
    if kind in ("too_short", "too_long"):
        return f"Choose {'more' if kind == 'too_short' else 'fewer'} {what}"
    if kind.startswith("url"):
        return f"{title} must be a web address such as https://example.com"
    if kind == "json_invalid":
        return "The request body is not valid JSON"
    if kind == "extra_forbidden":
        return "The form has a field this page does not know; reload the page and try again"
    if kind in ("value_error", "assertion_error"):
        text = str(ctx.get("error") or err.get("msg", "")).removeprefix("Value error, ")
        text = text.removeprefix("Assertion failed, ").strip()
        if text.startswith("value is not a valid email address"):
            return f"{title} must look like name@example.com"
        if text:
            return text[:1].upper() + text[1:]
    return f"{title} is not valid"


def messages(
    exc: ValidationError, model: type[BaseModel] | None = None, fields: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Errors by form field (the first per field), each a sentence. `fields` renames a domain
    model's field to the form's (requested_limit_minor -> requested_limit); an unknown or
    extra field's message goes under "form"."""
    out: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        key = ".".join(loc) if loc and err.get("type") != "extra_forbidden" else "form"
        key = (fields or {}).get(key, key)
        out.setdefault(key, message(err, model))
    return out


def summary(errors: Mapping[str, str]) -> str:
    """Errors as one line for a flash message: "Reference: Enter a reference. Amount: ..."."""
    return " ".join(f"{v}." for v in errors.values())


def form_values(model: type[BaseModel], raw: Mapping[str, str]) -> dict[str, Any]:
    """A form's text as the model's input: a blank box is "not given". A field whose default is
    None gets None (an update form's blank description clears it); a field with another
    default keeps it (a blank tax rate is 0); a required one is reported as missing."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if value.strip() != "":
            out[key] = value
            continue
        field = model.model_fields.get(key)
        if field is None or (not field.is_required() and field.default is None):
            out[key] = None
    return out
