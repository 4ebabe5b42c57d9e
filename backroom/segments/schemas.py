"""A segment's rules as data: a group of conditions (or nested groups) joined by AND or OR.
Stored as JSON, validated here, compiled to SQLAlchemy by rules.py; never SQL text."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backroom.ids import RecordId
from backroom.inputs import Input, stripped_length


class Attr(StrEnum):
    home_branch = "home_branch"  # value: branch ids
    tag = "tag"  # value: a tag
    consent_email = "consent_email"  # value: true/false
    credit_on_hold = "credit_on_hold"  # value: true/false
    loyalty_tier = "loyalty_tier"  # value: tier names
    spend = "spend"  # value: minor units in `currency`, over the last `days`
    orders = "orders"  # value: number of orders over the last `days`
    last_order_days = "last_order_days"  # value: days since the last order (never ordered: excluded)
    rfm_r = "rfm_r"
    rfm_f = "rfm_f"
    rfm_m = "rfm_m"
    open_complaints = "open_complaints"  # value: number of open complaints
    created_days = "created_days"  # value: days since the customer was created


class Op(StrEnum):
    is_ = "is"
    is_not = "is_not"
    in_ = "in"
    gte = "gte"
    lte = "lte"


ALLOWED: dict[Attr, tuple[set[Op], type]] = {
    Attr.home_branch: ({Op.in_}, list),
    Attr.tag: ({Op.is_, Op.is_not}, str),
    Attr.consent_email: ({Op.is_}, bool),
    Attr.credit_on_hold: ({Op.is_}, bool),
    Attr.loyalty_tier: ({Op.in_}, list),
    Attr.spend: ({Op.gte, Op.lte}, int),
    Attr.orders: ({Op.gte, Op.lte}, int),
    Attr.last_order_days: ({Op.gte, Op.lte}, int),
    Attr.rfm_r: ({Op.gte, Op.lte, Op.is_}, int),
    Attr.rfm_f: ({Op.gte, Op.lte, Op.is_}, int),
    Attr.rfm_m: ({Op.gte, Op.lte, Op.is_}, int),
    Attr.open_complaints: ({Op.gte, Op.lte}, int),
    Attr.created_days: ({Op.gte, Op.lte}, int),
}
WINDOWED = {Attr.spend, Attr.orders}
LABELS = {
    Attr.home_branch: "Home branch",
    Attr.tag: "Tag",
    Attr.consent_email: "Agreed to e-mail",
    Attr.credit_on_hold: "Credit on hold",
    Attr.loyalty_tier: "Loyalty tier",
    Attr.spend: "Spend",
    Attr.orders: "Orders",
    Attr.last_order_days: "Days since last order",
    Attr.rfm_r: "Recency score",
    Attr.rfm_f: "Frequency score",
    Attr.rfm_m: "Monetary score",
    Attr.open_complaints: "Open complaints",
    Attr.created_days: "Days as a customer",
}


_TEXT = stripped_length(1, 50)  # a tag: 1 to 50 characters once stripped


def _branch_id(x) -> bool:
    """A branch id as JSON or a form sends it: a whole number, or its digits."""
    if isinstance(x, str):
        return re.fullmatch(BRANCH_ID_TEXT, x) is not None
    return isinstance(x, int) and not isinstance(x, bool) and 1 <= x < 2**63


BRANCH_ID_TEXT = "^[0-9]{1,18}$"
# Days back from today stay within the calendar (10**12 days overflowed the date arithmetic).
_MAX = {Attr.last_order_days: 100_000, Attr.created_days: 100_000}


def _value_schema(attr: Attr) -> dict:
    kind = ALLOWED[attr][1]
    if attr == Attr.home_branch:
        ids = [
            {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
            {"type": "string", "pattern": BRANCH_ID_TEXT},
        ]
        return {"type": "array", "minItems": 1, "maxItems": 100, "items": {"anyOf": ids}}
    if kind is list:
        items = {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^[^\\x00]*$"}]}
        return {"type": "array", "minItems": 1, "maxItems": 100, "items": items}
    if kind is str:
        return {"type": "string", "pattern": _TEXT}
    if kind is bool:
        return {"type": "boolean"}
    if attr.value.startswith("rfm_"):
        return {"type": "integer", "minimum": 1, "maximum": 5}
    return {"type": "integer", "minimum": 0, "maximum": _MAX.get(attr, 10**12)}


def _condition_schema(schema: dict, _cls) -> None:
    """The document states _check's rules: one variant per attribute with its operators, its
    value's type and range, and the window and currency it needs (a schema-valid condition is
    then one the API accepts)."""
    days = {"type": "integer", "minimum": 1, "maximum": 3660}
    currency = {"type": "string", "pattern": "^[A-Z]{3}$"}
    variants = []
    for attr, (ops, _kind) in ALLOWED.items():
        required = ["attr", "op", "value"]
        props = {
            "kind": {"const": "condition"},
            "attr": {"const": attr.value},
            "op": {"enum": sorted(o.value for o in ops)},
            "value": _value_schema(attr),
            "days": days if attr in WINDOWED else {"anyOf": [days, {"type": "null"}]},
            "currency": currency if attr == Attr.spend else {"anyOf": [currency, {"type": "null"}]},
        }
        required += ["days"] * (attr in WINDOWED) + ["currency"] * (attr == Attr.spend)
        variants.append(
            {"type": "object", "properties": props, "required": required, "additionalProperties": False}
        )
    title = schema.get("title", "Condition")
    schema.clear()
    schema.update(title=title, anyOf=variants)


class Condition(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=_condition_schema)
    kind: Literal["condition"] = "condition"
    attr: Attr
    op: Op
    value: bool | int | str | list[int | str]
    days: int | None = Field(default=None, ge=1, le=3660)  # spend / orders: the window
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")  # spend

    @field_validator("value", mode="before")
    @classmethod
    def _whole(cls, v):
        """5.0 is the integer 5 in JSON (the union would read 0.0 as `false`)."""
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, list):
            return [int(x) if isinstance(x, float) and x.is_integer() else x for x in v]
        return v

    @model_validator(mode="after")
    def _check(self) -> Condition:
        ops, kind = ALLOWED[self.attr]
        label = LABELS[self.attr]
        if self.op not in ops:
            raise ValueError(f"{label} cannot be compared with '{self.op}'.")
        v = self.value
        ok = isinstance(v, kind) and (kind is not int or not isinstance(v, bool))
        if not ok:
            want = {list: "a list", str: "a text", bool: "yes or no", int: "a whole number"}[kind]
            raise ValueError(f"{label} needs {want}.")
        if kind is list and not (1 <= len(v) <= 100):
            raise ValueError(f"{label}: choose between 1 and 100 values.")
        if self.attr == Attr.home_branch and not all(_branch_id(x) for x in v):
            raise ValueError("Home branch: choose branches from the list.")  # was a 500
        if kind is int and not (0 <= v <= _MAX.get(self.attr, 10**12)):
            raise ValueError(f"{label}: the number must be between 0 and {_MAX.get(self.attr, 10**12)}.")
        if self.attr.value.startswith("rfm_") and not (1 <= v <= 5):
            raise ValueError(f"{label}: scores go from 1 to 5.")
        if self.attr in WINDOWED and self.days is None:
            raise ValueError(f"{label}: say over how many days.")
        if self.attr == Attr.spend and self.currency is None:
            raise ValueError("Spend: say in which currency.")
        if self.attr == Attr.tag and not (1 <= len(v) <= 50):
            raise ValueError("Tag: 1 to 50 characters.")
        return self


def _group_schema(schema: dict, _cls) -> None:
    """_depth's rule in the document: groups nest at most three deep (the model's own schema is
    recursive, so any depth was "valid"). The group's conditions hold conditions or a group
    that holds conditions or a group of conditions only."""
    items = schema["properties"]["conditions"]["items"]
    condition = next(r for r in items["anyOf"] if "Condition" in r.get("$ref", ""))

    def group(levels: int) -> dict:
        inner = [condition, group(levels - 1)] if levels > 1 else [condition]
        return {
            "type": "object",
            "properties": {
                "kind": {"const": "group"},
                "join": {"enum": ["and", "or"]},
                "conditions": {"type": "array", "minItems": 1, "maxItems": 20, "items": {"anyOf": inner}},
            },
            "required": ["conditions"],
            "additionalProperties": False,
        }

    schema["properties"]["conditions"]["items"] = {"anyOf": [condition, group(2)]}


class Group(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_group_schema)
    kind: Literal["group"] = "group"
    join: Literal["and", "or"] = "and"
    conditions: list[Condition | Group] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _depth(self) -> Group:
        def depth(g: Group) -> int:
            return 1 + max((depth(c) for c in g.conditions if isinstance(c, Group)), default=0)

        if depth(self) > 3:
            raise ValueError("Groups can be nested at most three deep.")
        return self


class SegmentCreate(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=500)
    rules: Group


class SegmentUpdate(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=500)
    rules: Group | None = None


class SegmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    description: str
    rules: Group
    explained: str = ""
    created_at: datetime


class MemberSample(BaseModel):
    id: int
    name: str
    email: str | None
    home_branch: str


class Preview(BaseModel):
    count: int
    sample: list[MemberSample]
    explained: str


class SizePoint(BaseModel):
    day: date
    size: int
    joined: int
    left: int


class CampaignCreate(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=10000)


class CampaignRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    segment_id: int
    subject: str
    status: str
    recipients: int


class RfmRun(BaseModel):
    customers: int
    computed_at: datetime


SegmentId = RecordId
Group.model_rebuild()
