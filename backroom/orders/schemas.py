from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

# Test cards the storefront offers; localstripe understands these PaymentMethod ids.
TEST_CARDS = {
    "pm_card_visa": "Visa (succeeds)",
    "pm_card_chargeCustomerFail": "Visa (declined)",
    "pm_card_threeDSecure2Required": "3-D Secure card (asks to authenticate)",
}

ORDER_STATUSES = (
    "placed",
    "awaiting_authentication",
    "payment_authorized",
    "review",
    "picking",
    "packed",
    "label_purchased",
    "shipped",
    "delivered",
    "completed",
    "cancelled",
    "payment_failed",
    "refunded",
    "partially_refunded",
)


class CheckoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailStr
    ship_name: str = Field(min_length=1, max_length=120)
    ship_line1: str = Field(min_length=1, max_length=200)
    ship_city: str = Field(min_length=1, max_length=100)
    ship_postcode: str = Field(min_length=2, max_length=20)
    ship_country: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    billing_postcode: str | None = Field(default=None, max_length=20)
    payment_method: str = Field(pattern=r"^pm_[A-Za-z0-9_]{1,60}$")


class OrderFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str | None = Field(default=None, max_length=24)
    branch_id: int | None = None
    customer_id: int | None = None
    q: str | None = Field(default=None, max_length=100)
    sort: Literal["placed", "total"] = "placed"
    desc: bool = True
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = None


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
    status: str
    weight_g: int
    carrier: str | None
    service: str | None
    rate_minor: int | None
    tracking_number: str | None
    label_id: str | None


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    branch_id: int
    status: str
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


class OrderDetail(OrderRead):
    lines: list[OrderLineRead] = []
    parcels: list[ParcelRead] = []


class RefundRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_minor: int | None = Field(default=None, ge=1)  # None = everything still refundable
    reason: str = Field(min_length=1, max_length=300)


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=300)
