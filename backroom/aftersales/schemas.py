"""After-sales API payloads."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from backroom.aftersales.flow import QuoteLineIn
from backroom.aftersales.models import CaseKind
from backroom.auth.schemas import MAX_ID
from backroom.inputs import Input


class CaseCreate(Input):
    """Open a case from a customer, an order line or a serial number."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: CaseKind
    reason: str = Field(min_length=1, max_length=4000)
    customer_id: int | None = Field(default=None, gt=0, le=MAX_ID)
    order_line_id: int | None = Field(default=None, gt=0, le=MAX_ID)
    product_id: int | None = Field(default=None, gt=0, le=MAX_ID)
    serial: str | None = Field(default=None, max_length=100)
    by_post: bool | None = Field(
        default=None, description="labels both ways (default: yes when the case has an order to ship to)"
    )


class CaseUpdate(Input):
    """A note on the case (talking to the customer), or the serial read off the unit."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str | None = Field(default=None, max_length=2000)
    serial: str | None = Field(default=None, max_length=100)


class CaseStep(Input):
    """A person's step on the case (see backroom.aftersales.flow.STEPS)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: str = Field(max_length=20)
    note: str | None = Field(default=None, max_length=2000)
    damaged: bool = False
    diagnosis: str | None = Field(default=None, max_length=4000)
    lines: list[QuoteLineIn] = Field(default_factory=list, max_length=50)


class QuoteLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    description: str
    qty: int
    unit_minor: int
    total_minor: int


class CaseEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    from_state: str | None
    to_state: str | None
    detail: str | None
    actor_name: str | None
    at: datetime


class SlaRead(BaseModel):
    status: str
    used: float
    due_at: datetime | None
    paused: bool


class CaseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    state: str
    customer_id: int
    product_id: int
    order_id: int | None
    warranty_id: int | None
    serial: str | None
    under_warranty: bool
    reason: str
    currency: str
    quote_minor: int | None
    quote_due_at: datetime | None
    refund_minor: int | None
    charged_minor: int
    replacement_order_id: int | None
    by_post: bool
    return_tracking: str | None
    outbound_tracking: str | None
    due_at: datetime | None
    breached: bool
    branch_id: int
    created_at: datetime
    closed_at: datetime | None
    customer_name: str | None = None
    product_name: str | None = None
    sla: SlaRead | None = None
    next_steps: list[str] = []


class CaseDetail(CaseRead):
    events: list[CaseEventRead] = []
    quote_lines: list[QuoteLineRead] = []


class QuoteAnswer(BaseModel):
    approve: bool
