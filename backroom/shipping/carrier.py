"""The shipping carrier port: rates, label purchase and void, plus the rule that picks a rate.

Weights are integer grams, dimensions integer millimetres, money integer minor units with an
ISO currency. Models are frozen Pydantic models, safe to pass through Temporal.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from backroom.shipping.errors import (
    CarrierUnavailable,
    LabelNotFound,
    LabelPurchaseFailed,
    NoRatesAvailable,
    ShippingError,
)

# The provider name of the built-in local carrier (no tracking feed: staff mark parcels delivered).
LOCAL_PROVIDER = "Backroom Local"

__all__ = [
    "Address",
    "CarrierUnavailable",
    "Label",
    "LabelNotFound",
    "LabelPurchaseFailed",
    "LabelVoid",
    "NoRatesAvailable",
    "Parcel",
    "Rate",
    "Shipment",
    "ShippingCarrier",
    "ShippingError",
    "VoidStatus",
    "choose_rate",
]


class Address(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    street1: str
    city: str
    postal_code: str
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    company: str | None = None
    street2: str | None = None
    state: str | None = None
    phone: str | None = None
    email: str | None = None


class Parcel(BaseModel):
    model_config = ConfigDict(frozen=True)

    weight_grams: int = Field(gt=0)
    length_mm: int = Field(gt=0)
    width_mm: int = Field(gt=0)
    height_mm: int = Field(gt=0)


class Shipment(BaseModel):
    """What a rate was quoted for; travels with the rate so a label can be bought from it alone."""

    model_config = ConfigDict(frozen=True)

    from_address: Address
    to_address: Address
    parcels: tuple[Parcel, ...] = Field(min_length=1)

    @property
    def weight_grams(self) -> int:
        return sum(p.weight_grams for p in self.parcels)


class Rate(BaseModel):
    model_config = ConfigDict(frozen=True)

    rate_id: str
    provider: str
    service: str = Field(description="human name, e.g. 'Ground'")
    service_token: str = Field(description="stable machine name, e.g. 'local_ground'")
    amount_minor: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)
    estimated_days: int | None = None
    shipment_id: str | None = None
    shipment: Shipment | None = None


class Label(BaseModel):
    """A bought label. Carries the PDF itself, a URL to it, or both."""

    # Bytes travel as base64 in JSON (the default would try UTF-8 and fail on a PDF).
    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")

    label_id: str = Field(description="the carrier's id for the purchase; pass it to void_label")
    tracking_number: str
    carrier: str
    service: str
    rate_id: str
    amount_minor: int
    currency: str
    label_pdf: bytes | None = None
    label_url: str | None = None
    tracking_url: str | None = None
    idempotency_key: str | None = None
    created_at: datetime


class VoidStatus(StrEnum):
    PENDING = "pending"
    VOIDED = "voided"
    REJECTED = "rejected"


class LabelVoid(BaseModel):
    model_config = ConfigDict(frozen=True)

    label_id: str
    status: VoidStatus
    raw_status: str
    void_id: str | None = None


@runtime_checkable
class ShippingCarrier(Protocol):
    """A way to ship parcels. Implementations: LocalCarrier (embedded), ShippoCarrier."""

    async def rates(self, from_address: Address, to_address: Address, parcels: list[Parcel]) -> list[Rate]:
        """Quote every service for these parcels. Read-only; raises NoRatesAvailable if none."""
        ...

    async def buy_label(self, rate: Rate, idempotency_key: str) -> Label:
        """Buy the label for a rate. Idempotent: the same key (or rate) returns the same label."""
        ...

    async def void_label(self, label_id: str) -> LabelVoid:
        """Void an unused label for a refund. Idempotent."""
        ...


def choose_rate(rates: list[Rate], promised_days: int) -> Rate:
    """Cheapest rate that arrives within promised_days; if none does, the fastest. Pure."""
    if not rates:
        raise NoRatesAvailable("no rates to choose from")
    currencies = {r.currency for r in rates}
    if len(currencies) > 1:
        # Comparing minor units across currencies would be meaningless without an FX rate.
        raise ShippingError(f"rates in several currencies: {sorted(currencies)}")

    in_time = [r for r in rates if r.estimated_days is not None and r.estimated_days <= promised_days]
    if in_time:
        # Ties on price go to the faster service, then to a stable name order.
        return min(in_time, key=lambda r: (r.amount_minor, r.estimated_days, r.provider, r.service))
    # Nothing makes the promise: get it there as soon as possible. Unknown transit times last.
    return min(
        rates,
        key=lambda r: (
            r.estimated_days if r.estimated_days is not None else float("inf"),
            r.amount_minor,
            r.provider,
            r.service,
        ),
    )
