"""The embedded default carrier: table-driven rates and self-printed labels, no outside service.

Everything is derived from the inputs, so it needs no storage: a rate id is a hash of what was
quoted, and a label's tracking number and id are hashes of the idempotency key. A retried
purchase therefore yields the same label.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from backroom.shipping.carrier import (
    LOCAL_PROVIDER,
    Address,
    Label,
    LabelPurchaseFailed,
    LabelVoid,
    NoRatesAvailable,
    Parcel,
    Rate,
    Shipment,
    VoidStatus,
)
from backroom.shipping.label_pdf import LabelRenderer

PROVIDER = LOCAL_PROVIDER
RATE_PREFIX = "lrate_"
LABEL_PREFIX = "llbl_"


class ServiceLevel(BaseModel):
    model_config = ConfigDict(frozen=True)

    token: str
    name: str
    estimated_days: int = Field(gt=0)


class WeightBand(BaseModel):
    """Prices for a parcel up to max_grams, per service token. A missing token: not offered."""

    model_config = ConfigDict(frozen=True)

    max_grams: int = Field(gt=0)
    prices_minor: dict[str, int]


class RateTable(BaseModel):
    model_config = ConfigDict(frozen=True)

    currency: str = Field(min_length=3, max_length=3)
    services: tuple[ServiceLevel, ...]
    bands: tuple[WeightBand, ...] = Field(description="ascending by max_grams")


DEFAULT_RATE_TABLE = RateTable(
    currency="USD",
    services=(
        ServiceLevel(token="local_ground", name="Ground", estimated_days=5),
        ServiceLevel(token="local_express", name="Express", estimated_days=2),
    ),
    bands=(
        WeightBand(max_grams=1_000, prices_minor={"local_ground": 595, "local_express": 1_495}),
        WeightBand(max_grams=5_000, prices_minor={"local_ground": 895, "local_express": 2_195}),
        WeightBand(max_grams=20_000, prices_minor={"local_ground": 1_495, "local_express": 3_495}),
        # Express is not offered above 20 kg: couriers take heavy parcels by ground only.
        WeightBand(max_grams=30_000, prices_minor={"local_ground": 2_495}),
    ),
)


class LocalCarrier:
    """ShippingCarrier with rates from a table and self-drawn PDF labels. Stateless."""

    def __init__(
        self,
        table: RateTable = DEFAULT_RATE_TABLE,
        *,
        provider: str = PROVIDER,
        tracking_prefix: str = "BR",
        renderer: LabelRenderer | None = None,
    ) -> None:
        self.table = table
        self.renderer = renderer or LabelRenderer()
        self.provider = provider
        self.tracking_prefix = tracking_prefix
        self._services = {s.token: s for s in table.services}

    async def rates(self, from_address: Address, to_address: Address, parcels: list[Parcel]) -> list[Rate]:
        """Quote each service that takes every parcel. Read-only; NoRatesAvailable if none does."""
        shipment = Shipment(from_address=from_address, to_address=to_address, parcels=tuple(parcels))
        quotes: list[Rate] = []
        for service in self.table.services:
            prices = [self._price(p, service.token) for p in shipment.parcels]
            if any(price is None for price in prices):
                continue
            quotes.append(
                Rate(
                    rate_id=RATE_PREFIX + _digest(shipment.model_dump_json(), service.token)[:24],
                    provider=self.provider,
                    service=service.name,
                    service_token=service.token,
                    amount_minor=sum(prices),
                    currency=self.table.currency,
                    estimated_days=service.estimated_days,
                    shipment=shipment,
                )
            )
        if not quotes:
            raise NoRatesAvailable(f"no service carries parcels of {max(p.weight_grams for p in parcels)} g")
        return quotes

    async def buy_label(self, rate: Rate, idempotency_key: str) -> Label:
        """Print the label for one of this carrier's rates. Idempotent: same key, same label."""
        if not rate.rate_id.startswith(RATE_PREFIX) or rate.shipment is None:
            raise LabelPurchaseFailed(f"rate {rate.rate_id} was not quoted by the local carrier")
        service = self._services.get(rate.service_token)
        if service is None:
            raise LabelPurchaseFailed(f"unknown service {rate.service_token}")
        tracking_number = self.tracking_number(idempotency_key)
        pdf = await self.renderer.render(
            shipment=rate.shipment,
            tracking_number=tracking_number,
            service=service.name,
            estimated_days=service.estimated_days,
            provider=self.provider,
        )
        return Label(
            label_id=LABEL_PREFIX + _digest("label", idempotency_key)[:24],
            tracking_number=tracking_number,
            carrier=self.provider,
            service=service.name,
            rate_id=rate.rate_id,
            amount_minor=rate.amount_minor,
            currency=rate.currency,
            label_pdf=pdf,
            idempotency_key=idempotency_key,
            created_at=datetime.now(UTC),
        )

    def close(self) -> None:
        """Stop the label processes (worker shutdown)."""
        self.renderer.close()

    async def void_label(self, label_id: str) -> LabelVoid:
        """Void a local label. Idempotent; nothing was paid to anyone, so it always succeeds."""
        if not label_id.startswith(LABEL_PREFIX):
            return LabelVoid(label_id=label_id, status=VoidStatus.REJECTED, raw_status="unknown_label")
        return LabelVoid(label_id=label_id, status=VoidStatus.VOIDED, raw_status="voided")

    def tracking_number(self, idempotency_key: str) -> str:
        """Tracking number for a key: prefix, 14 digits, a Luhn check digit. Pure and stable."""
        digits = f"{int(_digest('tracking', idempotency_key), 16) % 10**14:014d}"
        return f"{self.tracking_prefix}{digits}{_luhn_digit(digits)}"

    def _price(self, parcel: Parcel, token: str) -> int | None:
        for band in self.table.bands:
            if parcel.weight_grams <= band.max_grams:
                return band.prices_minor.get(token)
        return None


def _digest(*parts: str) -> str:
    # A separator that cannot occur in the JSON or key keeps ("a", "bc") apart from ("ab", "c").
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _luhn_digit(digits: str) -> int:
    """Luhn check digit, so a mistyped tracking number is caught before any lookup."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2 == 0:  # doubled positions, counted from the digit next to the check digit
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return (10 - total % 10) % 10
