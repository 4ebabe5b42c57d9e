"""Promotion payloads: PromotionCreate / PromotionUpdate / PromotionRead, codes, cart codes."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backroom.carts.schemas import RAW_CODE, check_code
from backroom.inputs import WS, Input
from backroom.money import Minor
from backroom.promotions.models import CodeMode, Eligibility, PromotionKind, PromotionTarget

Channel = Literal["storefront", "staff"]


BLANK = rf"^{WS}*$"  # a code of only spaces is no code


class _Terms(Input):
    """The fields create and update share; every one optional here, required ones are
    enforced by PromotionCreate and by the merged result (`check_terms`)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=2, max_length=120)
    description: str | None = Field(default=None, max_length=2000)
    kind: PromotionKind | None = None
    target: PromotionTarget | None = None
    product_ids: list[int] | None = Field(default=None, max_length=500)
    category: str | None = Field(default=None, max_length=100)
    percent_bp: int | None = Field(default=None, ge=0, le=10000)
    amount_minor: Minor | None = Field(default=None, ge=0, le=10**10)
    buy_qty: int | None = Field(default=None, ge=0, le=100)
    get_qty: int | None = Field(default=None, ge=0, le=100)
    min_subtotal_minor: Minor | None = Field(default=None, ge=0, le=10**10)
    min_quantity: int | None = Field(default=None, ge=0, le=10000)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    branch_ids: list[int] | None = Field(default=None, max_length=200)
    channels: list[Channel] | None = None
    eligibility: Eligibility | None = None
    customer_ids: list[int] | None = Field(default=None, max_length=1000)
    segment_id: int | None = Field(default=None, ge=1)  # with eligibility "segment"
    exclusive: bool | None = None
    priority: int | None = Field(default=None, ge=0, le=1000)
    budget_minor: Minor | None = Field(default=None, ge=1, le=10**11)
    usage_limit: int | None = Field(default=None, ge=1, le=10**7)
    per_customer_limit: int | None = Field(default=None, ge=1, le=1000)
    staff_only: bool | None = None
    refund_returns_use: bool | None = None
    code_valid_days: int | None = Field(default=None, ge=1, le=365)

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, v):
        if v is not None and v.tzinfo is None:
            raise ValueError("Give the time with its time zone (e.g. 2026-12-01T09:00:00Z).")
        return v


class PromotionCreate(_Terms):
    # _shared_needs_code's rule in the document: a shared-code promotion (the default) has its
    # code, the others none (a blank code is none).
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {
                    "properties": {
                        "code_mode": {"const": "shared"},
                        "code": {"type": "string", "pattern": RAW_CODE},
                    },
                    "required": ["code"],
                },
                {
                    "properties": {
                        "code_mode": {"enum": [m.value for m in CodeMode if m != CodeMode.SHARED]},
                        "code": {"anyOf": [{"type": "null"}, {"type": "string", "pattern": BLANK}]},
                    },
                    "required": ["code_mode"],
                },
            ]
        }
    )
    name: str = Field(min_length=2, max_length=120)
    kind: PromotionKind
    branch_id: int | None = Field(default=None, ge=1)  # owning branch; default: the shop branch
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    code_mode: CodeMode = CodeMode.SHARED
    code: str | None = Field(default=None, max_length=40)  # the shared code

    @field_validator("code")
    @classmethod
    def _code(cls, v):
        return None if v is None or re.fullmatch(BLANK, v) else check_code(v)

    @model_validator(mode="after")
    def _shared_needs_code(self):
        if self.code_mode == CodeMode.SHARED and not self.code:
            raise ValueError("Give the code customers will type (e.g. SPRING15).")
        if self.code_mode != CodeMode.SHARED and self.code:
            raise ValueError("Only a shared-code promotion has one code; generate the others.")
        return self


class PromotionUpdate(_Terms):
    pass


class PromotionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    branch_id: int
    name: str
    description: str | None
    kind: str
    target: str
    product_ids: list[int]
    category: str | None
    percent_bp: int
    amount_minor: int
    currency: str
    buy_qty: int
    get_qty: int
    min_subtotal_minor: int
    min_quantity: int
    starts_at: datetime | None
    ends_at: datetime | None
    branch_ids: list[int]
    channels: list[str]
    eligibility: str
    customer_ids: list[int]
    segment_id: int | None = None
    exclusive: bool
    priority: int
    budget_minor: int | None
    usage_limit: int | None
    per_customer_limit: int | None
    staff_only: bool
    refund_returns_use: bool
    code_mode: str
    code_valid_days: int | None
    status: str
    uses_count: int
    confirmed_count: int
    spent_minor: int
    proposed: dict | None
    revision: int
    approval_note: str | None
    created_at: datetime
    updated_at: datetime


class PromotionStats(BaseModel):
    uses: int
    confirmed_uses: int
    uses_left: int | None
    discount_given_minor: int
    revenue_minor: int
    budget_left_minor: int | None
    codes: int
    codes_available: int


class PromotionDetail(PromotionRead):
    stats: PromotionStats
    shared_code: str | None = None


class CodeGenerate(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    count: int = Field(ge=1, le=10000)
    prefix: str = Field(default="", max_length=8, pattern=r"^[A-Za-z0-9]*$")
    length: int = Field(default=10, ge=8, le=16)


class CodeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    single_use: bool
    status: str
    expires_at: datetime | None
    order_id: int | None


class PromotionPage(BaseModel):
    items: list[PromotionRead]
    next_cursor: str | None


class CodePage(BaseModel):
    items: list[CodeRead]
    next_cursor: str | None


class CodesGenerated(BaseModel):
    promotion_id: int
    generated: int
