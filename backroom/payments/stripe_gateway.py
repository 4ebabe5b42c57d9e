"""PaymentGateway over Stripe (stripe 16 SDK); also drives localstripe for tests and demos."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import stripe

from backroom.payments.errors import (
    CardDeclined,
    GatewayMisconfigured,
    GatewayUnavailable,
    IdempotencyConflict,
    PaymentRejected,
)
from backroom.payments.gateway import PaymentResult, PaymentStatus, RefundResult, RefundStatus, TransferResult

# Stripe's `latest_charge` is an id unless expanded; we need its amounts, so always expand.
_EXPAND = ["latest_charge"]

_REFUND_STATUS = {
    "succeeded": RefundStatus.SUCCEEDED,
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.CANCELLED,
}

_CAPTURED_STATES = {
    PaymentStatus.CAPTURED,
    PaymentStatus.PARTIALLY_REFUNDED,
    PaymentStatus.REFUNDED,
}


class StripeGateway:
    """Stripe PaymentIntents with manual capture. api_base points it at localstripe."""

    def __init__(
        self,
        api_key: str,
        api_base: str | None = None,
        *,
        max_network_retries: int = 2,
    ) -> None:
        self._api_key = api_key
        self._api_base = api_base.rstrip("/") if api_base else None
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": self._api_base} if self._api_base else None,
            # The SDK retries connection errors and 409/5xx itself, reusing our idempotency key.
            max_network_retries=max_network_retries,
        )
        self._intents = self._client.v1.payment_intents

    async def authorize(
        self,
        amount_minor: int,
        currency: str,
        payment_method: str,
        idempotency_key: str,
        metadata: dict[str, str] | None = None,
    ) -> PaymentResult:
        """Confirm a manual-capture PaymentIntent. Idempotent per key; may raise CardDeclined."""
        if amount_minor <= 0:
            raise PaymentRejected("amount must be positive", gateway_code="invalid_amount")
        params: dict[str, Any] = {
            "amount": amount_minor,
            "currency": currency.lower(),
            "payment_method": payment_method,
            # Cards only: with automatic payment methods Stripe demands a return_url for
            # redirect-based methods, which a back-office capture flow has no use for.
            "payment_method_types": ["card"],
            "capture_method": "manual",
            "confirm": True,
            "metadata": {**(metadata or {}), "idempotency_key": idempotency_key},
            "expand": _EXPAND,
        }
        with _translate_errors():
            intent = await self._intents.create_async(
                params=params, options={"idempotency_key": idempotency_key}
            )
        result = intent_to_result(intent.to_dict())
        if result.status is PaymentStatus.DECLINED:
            raise CardDeclined(
                result.message,
                decline_code=result.decline_code,
                intent_id=result.intent_id,
                charge_id=result.charge_id,
            )
        return result

    async def open_intent(
        self, amount_minor: int, currency: str, idempotency_key: str, metadata: dict[str, str] | None = None
    ) -> PaymentResult:
        """A manual-capture PaymentIntent left for the customer's browser to confirm with
        Stripe.js (card entry and 3-D Secure there; no card number reaches us). Idempotent per key."""
        if amount_minor <= 0:
            raise PaymentRejected("amount must be positive", gateway_code="invalid_amount")
        params: dict[str, Any] = {
            "amount": amount_minor,
            "currency": currency.lower(),
            "payment_method_types": ["card"],
            "capture_method": "manual",
            "metadata": {**(metadata or {}), "idempotency_key": idempotency_key},
        }
        with _translate_errors():
            intent = await self._intents.create_async(
                params=params, options={"idempotency_key": idempotency_key}
            )
        return intent_to_result(intent.to_dict())

    async def client_secret(self, intent_id: str) -> tuple[PaymentResult, str]:
        """The intent and its client secret, for the customer's payment page only. Read-only."""
        with _translate_errors():
            intent = await self._intents.retrieve_async(intent_id, params={"expand": _EXPAND})
        data = intent.to_dict()
        return intent_to_result(data), data["client_secret"]

    async def capture(self, intent_id: str, amount_minor: int | None, idempotency_key: str) -> PaymentResult:
        """Capture an authorization (all if amount is None). Idempotent: returns a captured one."""
        params: dict[str, Any] = {"expand": _EXPAND}
        if amount_minor is not None:
            params["amount_to_capture"] = amount_minor
        try:
            with _translate_errors():
                intent = await self._intents.capture_async(
                    intent_id, params=params, options={"idempotency_key": idempotency_key}
                )
        except PaymentRejected:
            # A retry after the idempotency window (24 h) lands here: report success if it is done.
            current = await self.retrieve(intent_id)
            if current.status in _CAPTURED_STATES:
                return current
            raise
        result = intent_to_result(intent.to_dict())
        if result.status not in _CAPTURED_STATES and result.status is not PaymentStatus.PROCESSING:
            # Stripe refuses to capture a cancelled intent; localstripe answers 200. Never let
            # a caller believe money moved when the intent says otherwise.
            raise PaymentRejected(
                f"capture left the payment {result.raw_status}", gateway_code="unexpected_state"
            )
        return result

    async def cancel(self, intent_id: str, idempotency_key: str) -> PaymentResult:
        """Release an authorization. Idempotent: a cancelled intent is returned as is."""
        try:
            with _translate_errors():
                intent = await self._intents.cancel_async(
                    intent_id,
                    params={"expand": _EXPAND},
                    options={"idempotency_key": idempotency_key},
                )
        except PaymentRejected:
            current = await self.retrieve(intent_id)
            if current.status is PaymentStatus.CANCELLED:
                return current
            raise
        return intent_to_result(intent.to_dict())

    async def refund(self, intent_id: str, amount_minor: int | None, idempotency_key: str) -> RefundResult:
        """Refund captured money (what is left if amount is None). Idempotent per key only."""
        # The key in the metadata tells our own refunds from ones made in the Stripe dashboard
        # when their webhooks arrive (backroom/orders/stripe_events.py).
        params: dict[str, Any] = {
            "payment_intent": intent_id,
            "metadata": {"idempotency_key": idempotency_key},
        }
        if amount_minor is not None:
            params["amount"] = amount_minor
        with _translate_errors():
            refund = await self._client.v1.refunds.create_async(
                params=params, options={"idempotency_key": idempotency_key}
            )
        after = await self.retrieve(intent_id)
        data = refund.to_dict()
        return RefundResult(
            refund_id=data["id"],
            intent_id=intent_id,
            charge_id=_id_of(data.get("charge")),
            status=_REFUND_STATUS.get(data.get("status") or "", RefundStatus.PENDING),
            raw_status=data.get("status") or "",
            amount_minor=data["amount"],
            currency=data["currency"].upper(),
            payment_status=after.status,
            refunded_total_minor=after.refunded_minor,
        )

    async def retrieve(self, intent_id: str) -> PaymentResult:
        """Read a PaymentIntent. Read-only."""
        with _translate_errors():
            intent = await self._intents.retrieve_async(intent_id, params={"expand": _EXPAND})
        return intent_to_result(intent.to_dict())

    async def transfer(
        self,
        amount_minor: int,
        currency: str,
        destination: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> TransferResult:
        """A Stripe Connect transfer to `destination`. Idempotent per key."""
        if amount_minor <= 0:
            raise PaymentRejected("amount must be positive", gateway_code="invalid_amount")
        params = {
            "amount": amount_minor,
            "currency": currency.lower(),
            "destination": destination,
            "metadata": {**metadata, "idempotency_key": idempotency_key},
        }
        with _translate_errors():
            tr = await self._client.v1.transfers.create_async(
                params=params, options={"idempotency_key": idempotency_key}
            )
        data = tr.to_dict()
        return TransferResult(
            transfer_id=data["id"],
            destination=_id_of(data["destination"]),
            amount_minor=data["amount"],
            currency=data["currency"].upper(),
        )

    async def create_account(self, email: str, idempotency_key: str) -> str:
        """An express connected account for a vendor. Idempotent per key."""
        with _translate_errors():
            account = await self._client.v1.accounts.create_async(
                params={
                    "type": "express",
                    "email": email,
                    "capabilities": {"transfers": {"requested": True}},
                },
                options={"idempotency_key": idempotency_key},
            )
        return account.to_dict()["id"]

    async def complete_3ds_for_test(self, intent_id: str, succeed: bool = True) -> PaymentResult:
        """Play the customer's 3-D Secure step on localstripe. Not idempotent; localstripe only."""
        if self._api_base is None or "api.stripe.com" in self._api_base:
            raise RuntimeError("complete_3ds_for_test only works against localstripe")
        with _translate_errors():
            intent = await self._intents.retrieve_async(intent_id)
        async with httpx.AsyncClient(base_url=self._api_base, timeout=10.0) as http:
            try:
                response = await http.post(
                    f"/v1/payment_intents/{intent_id}/_authenticate",
                    data={
                        "client_secret": intent.to_dict()["client_secret"],
                        "success": "true" if succeed else "false",
                    },
                    headers={"Authorization": f"Bearer {self._api_key}"},
                )
            except httpx.TransportError as exc:
                raise GatewayUnavailable(f"localstripe unreachable: {exc}") from exc
        if response.status_code >= 400:
            raise PaymentRejected(f"authentication step refused ({response.status_code})", gateway_code="3ds")
        return await self.retrieve(intent_id)


@contextmanager
def _translate_errors() -> Iterator[None]:
    """Turn stripe exceptions into Backroom's: declines, rejections, and transient trouble."""
    try:
        yield
    except stripe.CardError as exc:
        error = exc.error
        raise CardDeclined(
            exc.user_message or "Your card was declined.",
            decline_code=getattr(error, "decline_code", None) or exc.code,
            intent_id=_id_of(getattr(error, "payment_intent", None)),
            charge_id=getattr(error, "charge", None),
        ) from exc
    except stripe.IdempotencyError as exc:
        raise IdempotencyConflict(exc.user_message or str(exc)) from exc
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        raise GatewayUnavailable(exc.user_message or str(exc)) from exc
    except (stripe.AuthenticationError, stripe.PermissionError) as exc:
        raise GatewayMisconfigured(exc.user_message or str(exc)) from exc
    except stripe.StripeError as exc:
        if exc.http_status is None or exc.http_status >= 500:
            raise GatewayUnavailable(exc.user_message or str(exc)) from exc
        raise PaymentRejected(exc.user_message or str(exc), gateway_code=exc.code) from exc


def intent_to_result(intent: dict[str, Any]) -> PaymentResult:
    """Map a PaymentIntent (as a plain dict, latest_charge expanded or not) to a PaymentResult."""
    raw = intent.get("status") or ""
    charge = intent.get("latest_charge")
    charge = charge if isinstance(charge, dict) else None
    captured, refunded = _charge_amounts(intent, charge)
    error = intent.get("last_payment_error") or {}
    next_action = intent.get("next_action") or {}

    if raw == "requires_capture":
        status = PaymentStatus.AUTHORIZED
    elif raw == "succeeded":
        if refunded and refunded >= captured:
            status = PaymentStatus.REFUNDED
        elif refunded:
            status = PaymentStatus.PARTIALLY_REFUNDED
        else:
            status = PaymentStatus.CAPTURED
    elif raw == "canceled":
        status = PaymentStatus.CANCELLED
    elif raw == "requires_action":
        status = PaymentStatus.REQUIRES_ACTION
    elif raw == "processing":
        status = PaymentStatus.PROCESSING
    elif raw == "requires_payment_method" and error:
        status = PaymentStatus.DECLINED
    else:
        status = PaymentStatus.PENDING

    return PaymentResult(
        intent_id=intent["id"],
        status=status,
        raw_status=raw,
        amount_minor=intent.get("amount") or 0,
        currency=(intent.get("currency") or "").upper(),
        captured_minor=captured,
        refunded_minor=refunded,
        charge_id=_id_of(intent.get("latest_charge")),
        decline_code=(error.get("decline_code") or error.get("code")) if error else None,
        message=error.get("message") if error else None,
        next_action=next_action.get("type") if next_action else None,
        metadata={str(k): str(v) for k, v in (intent.get("metadata") or {}).items()},
    )


def _charge_amounts(intent: dict[str, Any], charge: dict[str, Any] | None) -> tuple[int, int]:
    """Return (captured, refunded) minor units for the intent's latest charge."""
    if charge is None:
        return intent.get("amount_received") or 0, 0
    if not charge.get("captured"):
        return 0, 0
    if "amount_captured" in charge:  # Stripe
        return charge["amount_captured"], charge.get("amount_refunded") or 0
    # localstripe records the uncaptured part of a partial capture as a refund without a
    # payment_intent; refunds made through the API carry one. Tell them apart.
    refunds = (charge.get("refunds") or {}).get("data") or []
    released = sum(r["amount"] for r in refunds if not r.get("payment_intent"))
    refunded = sum(r["amount"] for r in refunds if r.get("payment_intent"))
    return charge["amount"] - released, refunded


def _id_of(value: Any) -> str | None:
    """Stripe fields hold an id or an expanded object; return the id either way."""
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, dict):
        return value.get("id")
    return getattr(value, "id", None)
