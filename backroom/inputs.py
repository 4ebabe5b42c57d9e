"""Input models take JSON's types as they are: a number field refuses `"5"`, `false` and `5.5`
(5.0 is the integer 5, as JSON Schema says), a yes/no field refuses `0` and `"true"`, a time
refuses a number (Pydantic's lax mode would guess: `false` as 0, `0` as 1970-01-01). What the
OpenAPI document says is a boolean or an integer is then exactly what the API accepts. A staff
form's text is still parsed (parse_form validates with the FORM context), and so are Python
objects built in code.

Every JSON request body model derives from `Input` (tests/api/test_openapi.py checks)."""

from __future__ import annotations

import re
import types
import typing
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    FutureDate,
    FutureDatetime,
    NaiveDatetime,
    PastDate,
    PastDatetime,
    PlainValidator,
    ValidationInfo,
    WrapValidator,
    model_validator,
)

from backroom.money import FORM

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")
_OWN = (BeforeValidator, PlainValidator, WrapValidator)
# Pydantic's own date and time types are not datetime subclasses at run time.
_TIMES = (datetime, date, AwareDatetime, NaiveDatetime, FutureDatetime, PastDatetime, FutureDate, PastDate)


class _Refused:
    """A raw value of the wrong JSON type, handed on so Pydantic reports it at its field with
    its usual words ("Input should be a valid integer"); it fits no type."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return repr(self.value)


def _members(tp: Any) -> tuple[Any, ...]:
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _members(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return tuple(m for a in typing.get_args(tp) for m in _members(a))
    return (tp,)


def _fits(tp: Any, raw: Any) -> bool:
    """False when `raw` is clearly of another JSON type than `tp` asks for; anything this does
    not know (strings, enums, literals, models) is left to Pydantic."""
    if raw is None:
        return True  # Pydantic decides whether None is allowed
    for m in _members(tp):
        origin = typing.get_origin(m)
        if m is type(None):
            continue  # raw is not None here
        if m is bool:
            ok = isinstance(raw, bool)
        elif m is int:  # JSON Schema's integer: 5 and 5.0, never 5.5
            ok = (isinstance(raw, int) and not isinstance(raw, bool)) or (
                isinstance(raw, float) and raw.is_integer()
            )
        elif m is float:
            ok = isinstance(raw, int | float) and not isinstance(raw, bool)
        elif m is str:
            ok = isinstance(raw, str)
        elif m in _TIMES:
            ok = isinstance(raw, date) or (isinstance(raw, str) and bool(_ISO.match(raw)))
        elif origin in (list, set, frozenset, tuple) and isinstance(raw, list | tuple | set | frozenset):
            args = [a for a in typing.get_args(m) if a is not Ellipsis]
            ok = len(args) != 1 or all(_fits(args[0], x) for x in raw)
        else:
            ok = True
        if ok:
            return True
    return False


def _mark(tp: Any, raw: Any) -> Any:
    """`raw` with its misfits replaced by _Refused (list items one by one, so the error points at
    the item)."""
    if _fits(tp, raw):
        return raw
    for m in _members(tp):
        if typing.get_origin(m) in (list, set, frozenset) and isinstance(raw, list):
            (item,) = typing.get_args(m)
            return [x if _fits(item, x) else _Refused(x) for x in raw]
    return _Refused(raw)


class Input(BaseModel):
    """Base of every JSON request body: JSON types are taken as sent, and a property the model
    does not know is refused (the document says `additionalProperties: false`; before, unknown
    properties were ignored, so the document allowed any key, a NUL in one included, which the
    edge refuses). Staff forms keep their models' own rule for other fields."""

    model_config = ConfigDict(json_schema_extra={"additionalProperties": False})

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema, handler):
        """A model that strips whitespace checks lengths after stripping ("\t" is empty, three
        spaces and 300 letters fit 300): its document states the length of the stripped text."""
        schema = handler.resolve_ref_schema(handler(core_schema))
        if cls.model_config.get("str_strip_whitespace"):
            for prop in schema.get("properties", {}).values():
                for node in (prop, *prop.get("anyOf", ())):
                    if node.get("type") != "string" or {"pattern", "format", "enum", "const"} & node.keys():
                        continue
                    if "minLength" in node or "maxLength" in node:
                        node["pattern"] = stripped_length(
                            node.pop("minLength", 0), node.pop("maxLength", None)
                        )
        return schema

    @model_validator(mode="before")
    @classmethod
    def _json_types(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict) or (info.context or {}).get(FORM):
            return data
        known = {f.alias or n for n, f in cls.model_fields.items()} | set(cls.model_fields)
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise ValueError("Unknown field(s): " + ", ".join(unknown[:5]))
        out = dict(data)
        for name, field in cls.model_fields.items():
            key = field.alias or name
            # A field with validators of its own (money's Minor) says what it accepts itself.
            if key in out and not any(isinstance(m, _OWN) for m in field.metadata):
                out[key] = _mark(field.annotation, out[key])
        return out


# What Pydantic strips (Unicode White_Space; Python's \s also takes \x1c-\x1f, which it keeps).
_WS = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


# One whitespace character as Pydantic strips it, for patterns in the document (`\\s` means
# different sets in Python's and JavaScript's regular expressions).
WS = f"[{_WS}]"


def stripped_length(low: int, high: int | None) -> str:
    """A pattern for text whose stripped length is `low` to `high` characters (no NUL)."""
    ws, word, any_ = f"[{_WS}]*", f"[^{_WS}\\x00]", "[^\\x00]"
    if high is not None and high < max(low, 1):
        return f"^{ws}$"
    top = "" if high is None else str(high - 2)
    if low >= 2:
        body = f"{word}{any_}{{{low - 2},{top}}}{word}"
    elif high == 1:
        body = word
    else:
        body = f"{word}(?:{any_}{{0,{top}}}{word})?"
    return f"^{ws}{body}{ws}$" if low >= 1 else f"^{ws}(?:{body})?{ws}$"


def _iso_text(value: Any) -> Any:
    """A date or time in a query string is ISO 8601 text (2026-12-01, 2026-12-01T09:30:00Z), not
    a number Pydantic would read as seconds since 1970."""
    if isinstance(value, str) and not _ISO.match(value):
        raise ValueError("Give a date such as 2026-12-31 (or a time such as 2026-12-31T09:30:00Z)")
    return value


When = Annotated[datetime, BeforeValidator(_iso_text)]
Day = Annotated[date, BeforeValidator(_iso_text)]
