from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AccountOpen(BaseModel):
    model_config = ConfigDict(extra="forbid")
    terms_days: int = Field(default=30, ge=0, le=365)
    grace_days: int = Field(default=5, ge=0, le=90)


class Terms(AccountOpen):
    pass


class CreditSale(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_minor: int = Field(gt=0, le=1_000_000_000)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    reference: str = Field(min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=500)


class Payment(CreditSale):
    pass


class Adjustment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["adjustment", "goodwill"]
    amount_minor: int = Field(ge=-1_000_000_000, le=1_000_000_000)  # zero is refused by the ledger
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    reference: str = Field(min_length=1, max_length=120)
    description: str = Field(min_length=3, max_length=500)


class EntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
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
    status: str
    resolution: str | None
    workflow_id: str | None
