"""Verify Stripe webhook signatures and reduce an event to what Backroom acts on."""

from __future__ import annotations

from datetime import UTC, datetime

import stripe
from pydantic import BaseModel, ConfigDict

from backroom.payments.errors import InvalidSignature
from backroom.payments.gateway import PaymentStatus
from backroom.payments.stripe_gateway import intent_to_result

# Stripe's own default: events older than this are refused, which stops replayed deliveries.
DEFAULT_TOLERANCE_SECONDS = 300


class PaymentEvent(BaseModel):
    """A verified Stripe event. `event_id` is the de-duplication key (Stripe retries deliveries)."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    type: str
    created: datetime
    intent_id: str | None = None
    status: PaymentStatus | None = None
    raw_status: str | None = None
    amount_minor: int | None = None
    currency: str | None = None
    decline_code: str | None = None
    message: str | None = None


def parse_event(
    payload: bytes | str,
    signature_header: str | None,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> PaymentEvent:
    """Check Stripe-Signature over the raw body, then parse. Pure; raises InvalidSignature."""
    if not signature_header:
        raise InvalidSignature("missing Stripe-Signature header")
    try:
        event = stripe.Webhook.construct_event(payload, signature_header, secret, tolerance)
    except stripe.SignatureVerificationError as exc:
        raise InvalidSignature(str(exc)) from exc
    except ValueError as exc:  # signed, but not JSON: treat as forged rather than crash
        raise InvalidSignature(f"unreadable payload: {exc}") from exc

    data = event.to_dict()
    obj = (data.get("data") or {}).get("object") or {}
    fields: dict = {}
    if obj.get("object") == "payment_intent":
        result = intent_to_result(obj)
        fields = {
            "intent_id": result.intent_id,
            "status": result.status,
            "raw_status": result.raw_status,
            "amount_minor": result.amount_minor,
            "currency": result.currency,
            "decline_code": result.decline_code,
            "message": result.message,
        }
    elif obj.get("payment_intent"):  # charge.* and refund events point at their intent
        intent = obj["payment_intent"]
        fields = {"intent_id": intent if isinstance(intent, str) else intent.get("id")}

    return PaymentEvent(
        event_id=data["id"],
        type=data["type"],
        created=datetime.fromtimestamp(data.get("created") or 0, tz=UTC),
        **fields,
    )
