from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from backroom.inputs import Input
from backroom.money import Minor
from backroom.orders.models import OrderStatus, ParcelStatus
from backroom.pagination import CursorText


class CheckoutRequest(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailStr
    ship_name: str = Field(min_length=1, max_length=120)
    ship_line1: str = Field(min_length=1, max_length=200)
    ship_city: str = Field(min_length=1, max_length=100)
    ship_postcode: str = Field(min_length=2, max_length=20)
    ship_country: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    billing_postcode: str | None = Field(default=None, max_length=20)
    # A saved PaymentMethod id (API clients, benchmarks, test cards such as pm_card_visa); none:
    # the customer enters the card in the browser and confirms the payment with Stripe.js.
    payment_method: str | None = Field(default=None, pattern=r"^pm_[A-Za-z0-9_]{1,60}$")


class OrderFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: OrderStatus | None = None
    branch_id: int | None = None
    customer_id: int | None = None
    q: str | None = Field(default=None, max_length=100)
    sort: Literal["placed", "total"] = "placed"
    desc: bool = True
    limit: int = Field(default=50, ge=1, le=200)
    cursor: CursorText | None = None


class OrderLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    product_id: int
    sku: str
    name: str
    qty: int
    unit_price_minor: int
    tax_minor: int
    line_total_minor: int
    fulfil_branch_id: int
    parcel_id: int | None


class ParcelRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    branch_id: int
    status: ParcelStatus
    weight_g: int
    length_mm: int | None = None
    width_mm: int | None = None
    height_mm: int | None = None
    carrier: str | None
    service: str | None
    rate_minor: int | None
    tracking_number: str | None
    label_id: str | None


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    branch_id: int
    status: OrderStatus
    email: str
    currency: str
    subtotal_minor: int
    discount_minor: int
    tax_minor: int
    shipping_minor: int
    total_minor: int
    captured_minor: int
    refunded_minor: int
    payment_intent_id: str | None
    customer_message: str | None
    placed_at: datetime
    token: str


class OrderEventRead(BaseModel):
    """One entry of the order's timeline."""

    model_config = ConfigDict(from_attributes=True)
    at: datetime
    kind: str
    message: str
    actor: str | None = Field(validation_alias="actor_name")


class PaymentEntryRead(BaseModel):
    """One row of the order's payments ledger."""

    model_config = ConfigDict(from_attributes=True)
    kind: str
    status: str
    amount_minor: int
    intent_id: str | None
    gateway_ref: str | None
    at: datetime = Field(validation_alias="created_at")


class OrderDetail(OrderRead):
    lines: list[OrderLineRead] = []
    parcels: list[ParcelRead] = []
    events: list[OrderEventRead] = []
    payments: list[PaymentEntryRead] = []
    workflow_url: str | None = None


class RefundRequest(Input):
    model_config = ConfigDict(extra="forbid")
    # None = everything still refundable; the bound is far above any order, below what a column holds
    amount_minor: Minor | None = Field(default=None, ge=1, le=10**12)
    reason: str = Field(min_length=1, max_length=300)


class CancelRequest(Input):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=300)


class WebhookReceipt(BaseModel):
    """The answer to a provider: received; a redelivery (dropped); whether the order's workflow
    is told (the signal is queued with the receipt and sent after the commit)."""

    received: bool = True
    duplicate: bool = False
    signalled: bool = False


class PackBody(Input):
    """The serial number of each unit of the parcel's serial-numbered items: order line id ->
    one serial per unit (typed or scanned)."""

    model_config = ConfigDict(extra="forbid")
    # Keyed by order line id: JSON keys are text, so the document says they are digits.
    serials: dict[int, list[Annotated[str, Field(max_length=100)]]] = Field(
        default={}, max_length=200, json_schema_extra={"propertyNames": {"pattern": "^[0-9]{1,18}$"}}
    )
