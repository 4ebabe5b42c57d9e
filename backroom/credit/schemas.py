from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backroom.credit.models import EntryKind, HoldResolution, HoldStatus, LimitRequestStatus
from backroom.inputs import Input
from backroom.money import Minor

MAX_LIMIT_MINOR = 10**12


class AccountOpen(Input):
    model_config = ConfigDict(extra="forbid")
    terms_days: int = Field(default=30, ge=0, le=365)
    grace_days: int = Field(default=5, ge=0, le=90)


class Terms(AccountOpen):
    pass


class CreditSale(Input):
    model_config = ConfigDict(extra="forbid")
    amount_minor: Minor = Field(gt=0, le=1_000_000_000)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    reference: str = Field(min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=500)


class Payment(CreditSale):
    # "cash" goes into the drawer of the cashier's open shift (refused without one).
    tender: Literal["cash", "card", "bank_transfer", "other"] = "other"


class Adjustment(Input):
    model_config = ConfigDict(extra="forbid")
    kind: Literal[EntryKind.adjustment, EntryKind.goodwill]
    amount_minor: Minor = Field(ge=-1_000_000_000, le=1_000_000_000)  # zero is refused by the ledger
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    reference: str = Field(min_length=1, max_length=120)
    description: str = Field(min_length=3, max_length=500)


class EntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: EntryKind
    amount_minor: int
    currency: str
    balance_after_minor: int
    reference: str
    description: str | None
    occurred_at: datetime
    due_at: datetime | None


class HoldRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    customer_id: int
    amount_minor: int
    currency: str
    reference: str
    status: HoldStatus
    resolution: HoldResolution | None
    workflow_id: str | None


class AccountRead(BaseModel):
    """A credit account as people see it: limit, balance, what is held and what is left."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    customer_id: int
    customer_name: str
    currency: str
    limit_minor: int
    balance_minor: int
    held_minor: int
    available_minor: int
    terms_days: int
    grace_days: int
    on_hold: bool
    hold_reason: str | None
    branch_id: int


class SaleRead(BaseModel):
    """A credit sale: posted at once (entry) or held for approval or a payment (hold)."""

    status: Literal["posted", "held"]
    entry: EntryRead | None
    hold: HoldRead | None


class StatementRead(BaseModel):
    account_id: int
    start: datetime
    end: datetime
    currency: str
    opening_minor: int
    closing_minor: int
    entries: list[EntryRead]


class OpenItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    entry_id: int
    reference: str
    due_at: datetime
    open_minor: int
    days_past_due: int
    bucket: str


class AgingRead(BaseModel):
    as_of: datetime
    currency: str
    buckets: dict[str, int]
    total_minor: int
    unallocated_credit_minor: int
    items: list[OpenItemRead]
    next_cursor: str | None = None  # every open invoice is on the one page


class LimitChangeIn(Input):
    """Body of POST /api/v1/customers/{id}/credit-limit-requests."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    requested_limit_minor: Minor = Field(ge=0, le=MAX_LIMIT_MINOR)
    reason: str = Field(min_length=3, max_length=1000)


class LimitRequestRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    customer_id: int
    branch_id: int
    current_limit_minor: int
    requested_limit_minor: int
    currency: str
    reason: str
    status: LimitRequestStatus
    workflow_id: str | None
    created_by_id: int | None
    decided_by_id: int | None
    decision_reason: str | None
