"""ShippingCarrier over Shippo (shippo 3.9 SDK). Never buys two labels for one rate.

Shippo has no idempotency keys. Before buying, the adapter lists the transactions already made
for the rate and reuses a live one, so a retry after a lost response returns the first label
instead of paying twice. The idempotency key is also written to the transaction's `metadata`,
which makes every purchase traceable to the activity that made it.

The SDK is synchronous (requests); each call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import httpx
import requests
import shippo
from shippo.models import components, errors, operations

from backroom.shipping.carrier import (
    Address,
    CarrierUnavailable,
    Label,
    LabelNotFound,
    LabelPurchaseFailed,
    LabelVoid,
    NoRatesAvailable,
    Parcel,
    Rate,
    Shipment,
    ShippingError,
    VoidStatus,
)

T = TypeVar("T")

# ISO 4217 exponents that are not 2; enough for the currencies carriers quote in.
_MINOR_EXPONENT = {
    "JPY": 0,
    "KRW": 0,
    "CLP": 0,
    "ISK": 0,
    "BHD": 3,
    "JOD": 3,
    "KWD": 3,
    "OMR": 3,
    "TND": 3,
}

# A transaction in these states is a label that exists (or is about to): never buy another.
_LIVE = {"SUCCESS", "QUEUED", "WAITING"}
_PENDING = {"QUEUED", "WAITING"}

_METADATA_PREFIX = "backroom:"
_METADATA_MAX = 100  # Shippo truncates metadata beyond 100 characters


class _TimeoutSession(requests.Session):
    """requests has no default timeout; without one a hung carrier would hang the worker."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def send(self, request, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", self._timeout)
        return super().send(request, **kwargs)


class ShippoCarrier:
    """Rates and labels from Shippo. server_url points it at a fake in tests."""

    def __init__(
        self,
        api_key: str,
        server_url: str | None = None,
        *,
        carrier_accounts: list[str] | None = None,
        download_labels: bool = False,
        timeout: float = 30.0,
        poll_interval: float = 0.5,
        poll_attempts: int = 10,
    ) -> None:
        self._sdk = shippo.Shippo(
            api_key_header=api_key, server_url=server_url, client=_TimeoutSession(timeout)
        )
        self._carrier_accounts = carrier_accounts
        self._download_labels = download_labels
        self._timeout = timeout
        self._poll_interval = poll_interval
        self._poll_attempts = poll_attempts
        # Serialises purchases per rate within this process; the lookup covers other processes.
        # Weak values: a lock disappears once no purchase holds or waits on it.
        self._rate_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def rates(self, from_address: Address, to_address: Address, parcels: list[Parcel]) -> list[Rate]:
        """Create a Shippo shipment and return its rates. Not idempotent, but harmless to repeat."""
        shipment = Shipment(from_address=from_address, to_address=to_address, parcels=tuple(parcels))
        request = components.ShipmentCreateRequest(
            address_from=_address_request(from_address),
            address_to=_address_request(to_address),
            parcels=[_parcel_request(p) for p in parcels],
            carrier_accounts=self._carrier_accounts,
            async_=False,
        )
        created = await self._call(self._sdk.shipments.create, request)
        for _ in range(self._poll_attempts):
            if _enum_value(created.status) != "QUEUED":
                break
            await asyncio.sleep(self._poll_interval)
            created = await self._call(self._sdk.shipments.get, created.object_id)
        if _enum_value(created.status) == "QUEUED":
            raise CarrierUnavailable(f"Shippo is still rating shipment {created.object_id}")
        quotes = [_rate_from(r, shipment) for r in created.rates or []]
        if not quotes:
            reasons = "; ".join(m.text or "" for m in created.messages or [] if m.text)
            raise NoRatesAvailable(f"Shippo returned no rates{': ' + reasons if reasons else ''}")
        return quotes

    async def buy_label(self, rate: Rate, idempotency_key: str) -> Label:
        """Buy the label for a rate. Idempotent: an existing live label is returned instead."""
        lock = self._rate_locks.get(rate.rate_id)
        if lock is None:
            lock = self._rate_locks[rate.rate_id] = asyncio.Lock()
        async with lock:
            existing = await self._existing_transaction(rate.rate_id, idempotency_key)
            if existing is not None:
                transaction = existing
            else:
                request = components.TransactionCreateRequest(
                    rate=rate.rate_id,
                    label_file_type=components.LabelFileTypeEnum.PDF_4X6,
                    async_=False,
                    metadata=_metadata_for(idempotency_key),
                )
                transaction = await self._call(
                    self._sdk.transactions.create, request, on_client_error=LabelPurchaseFailed
                )
            transaction = await self._settle(transaction)
        status = _enum_value(transaction.status)
        if status != "SUCCESS":
            reasons = "; ".join(m.text or "" for m in transaction.messages or [] if m.text)
            raise LabelPurchaseFailed(f"Shippo transaction {status}: {reasons or 'no reason given'}")
        pdf = await self._download(transaction.label_url) if self._download_labels else None
        return Label(
            label_id=transaction.object_id,
            tracking_number=transaction.tracking_number or "",
            carrier=rate.provider,
            service=rate.service,
            rate_id=rate.rate_id,
            amount_minor=rate.amount_minor,
            currency=rate.currency,
            label_pdf=pdf,
            label_url=transaction.label_url,
            tracking_url=transaction.tracking_url_provider,
            idempotency_key=idempotency_key,
            created_at=transaction.object_created or datetime.now(UTC),
        )

    async def void_label(self, label_id: str) -> LabelVoid:
        """Ask Shippo to refund an unused label. Idempotent: a voided label reports its state."""
        transaction = await self._call(self._sdk.transactions.get, label_id, not_found=label_id)
        status = _enum_value(transaction.status)
        if status == "REFUNDED":
            return LabelVoid(label_id=label_id, status=VoidStatus.VOIDED, raw_status=status)
        if status == "REFUNDPENDING":
            return LabelVoid(label_id=label_id, status=VoidStatus.PENDING, raw_status=status)
        refund = await self._call(self._sdk.refunds.create, label_id, False, on_client_error=ShippingError)
        raw = _enum_value(refund.status) or ""
        mapped = {"SUCCESS": VoidStatus.VOIDED, "ERROR": VoidStatus.REJECTED}.get(raw, VoidStatus.PENDING)
        return LabelVoid(label_id=label_id, status=mapped, raw_status=raw, void_id=refund.object_id)

    async def _existing_transaction(
        self, rate_id: str, idempotency_key: str
    ) -> components.Transaction | None:
        """The live transaction already made for this rate, preferring one tagged with this key."""
        page = 1
        live: list[components.Transaction] = []
        while True:
            listing = await self._call(
                self._sdk.transactions.list,
                operations.ListTransactionsRequest(rate=rate_id, page=page, results=100),
            )
            for transaction in listing.results or []:
                # Filter again locally: a server that ignored the query must not match other rates.
                if _rate_id_of(transaction) == rate_id and _enum_value(transaction.status) in _LIVE:
                    live.append(transaction)
            if not listing.next:
                break
            page += 1
        tagged = [t for t in live if t.metadata == _metadata_for(idempotency_key)]
        return (tagged or live or [None])[0]

    async def _settle(self, transaction: components.Transaction) -> components.Transaction:
        """Poll a queued purchase until the carrier answers; give up as a retryable outage."""
        for _ in range(self._poll_attempts):
            if _enum_value(transaction.status) not in _PENDING:
                return transaction
            await asyncio.sleep(self._poll_interval)
            transaction = await self._call(self._sdk.transactions.get, transaction.object_id)
        if _enum_value(transaction.status) in _PENDING:
            # A retry will find this transaction through the lookup and resume polling it.
            raise CarrierUnavailable(f"label {transaction.object_id} still queued at the carrier")
        return transaction

    async def _download(self, url: str | None) -> bytes | None:
        if not url:
            return None
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                response = await http.get(url)
        except httpx.TransportError as exc:
            raise CarrierUnavailable(f"label download failed: {exc}") from exc
        if response.status_code >= 400:
            raise CarrierUnavailable(f"label download failed with {response.status_code}")
        return response.content

    async def _call(
        self,
        fn: Callable[..., T],
        *args: Any,
        on_client_error: type[ShippingError] = ShippingError,
        not_found: str | None = None,
    ) -> T:
        """Run one SDK call in a thread, translating failures into Backroom's errors."""
        try:
            return await asyncio.to_thread(fn, *args)
        except errors.SDKError as exc:
            if exc.status_code == 404 and not_found is not None:
                raise LabelNotFound(f"Shippo has no transaction {not_found}") from exc
            if exc.status_code in (408, 429) or exc.status_code >= 500:
                raise CarrierUnavailable(f"Shippo answered {exc.status_code}") from exc
            raise on_client_error(
                f"Shippo refused the request ({exc.status_code}): {exc.body[:300]}"
            ) from exc
        except requests.RequestException as exc:
            raise CarrierUnavailable(f"Shippo unreachable: {exc}") from exc


def to_minor(amount: str, currency: str) -> int:
    """Convert a decimal string ("12.34") to integer minor units for the currency. Pure."""
    try:
        value = Decimal(amount)
    except InvalidOperation as exc:
        raise ShippingError(f"unreadable amount {amount!r}") from exc
    exponent = _MINOR_EXPONENT.get(currency.upper(), 2)
    minor = value.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise ShippingError(f"{amount} {currency} has more decimals than the currency allows")
    return int(minor)


def _metadata_for(idempotency_key: str) -> str:
    tag = _METADATA_PREFIX + idempotency_key
    if len(tag) <= _METADATA_MAX:
        return tag
    return _METADATA_PREFIX + "sha256:" + hashlib.sha256(idempotency_key.encode()).hexdigest()


def _rate_id_of(transaction: components.Transaction) -> str | None:
    rate = transaction.rate
    return rate if isinstance(rate, str) or rate is None else rate.object_id


def _enum_value(value: Any) -> str | None:
    return getattr(value, "value", value)


def _address_request(address: Address) -> components.AddressCreateRequest:
    return components.AddressCreateRequest(
        name=address.name,
        company=address.company,
        street1=address.street1,
        street2=address.street2,
        city=address.city,
        state=address.state,
        zip=address.postal_code,
        country=address.country,
        phone=address.phone,
        email=address.email,
    )


def _parcel_request(parcel: Parcel) -> components.ParcelCreateRequest:
    return components.ParcelCreateRequest(
        mass_unit=components.WeightUnitEnum.G,
        weight=str(parcel.weight_grams),
        distance_unit=components.DistanceUnitEnum.MM,
        length=str(parcel.length_mm),
        width=str(parcel.width_mm),
        height=str(parcel.height_mm),
    )


def _rate_from(rate: components.Rate, shipment: Shipment) -> Rate:
    level = rate.servicelevel
    return Rate(
        rate_id=rate.object_id,
        provider=rate.provider,
        service=(level.name if level else None) or "",
        service_token=(level.token if level else None) or "",
        amount_minor=to_minor(rate.amount, rate.currency),
        currency=rate.currency.upper(),
        estimated_days=rate.estimated_days,
        shipment_id=rate.shipment,
        shipment=shipment,
    )
