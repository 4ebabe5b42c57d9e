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


class RefundSeen(BaseModel):
    """One refund named by a charge.refunded or refund.* event. `ours` when Backroom made it
    (its idempotency key rides in the refund's metadata); the others were made elsewhere, e.g.
    in the Stripe dashboard."""

    model_config = ConfigDict(frozen=True)

    refund_id: str
    amount_minor: int
    status: str  # succeeded | pending | failed | canceled | requires_action
    ours: bool = False
    reason: str | None = None


class DisputeSeen(BaseModel):
    """A charge.dispute.* event's dispute."""

    model_config = ConfigDict(frozen=True)

    dispute_id: str
    amount_minor: int
    currency: str
    status: str  # warning_needs_response | needs_response | under_review | won | lost | ...
    reason: str | None = None
    evidence_due_by: datetime | None = None


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
    charge_id: str | None = None
    refunds: list[RefundSeen] = []
    refunded_total_minor: int | None = None  # charge.refunded: the charge's refunded amount
    dispute: DisputeSeen | None = None


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
    elif obj.get("payment_intent"):  # charge.*, refund.* and dispute events name their intent
        fields = {"intent_id": _id(obj["payment_intent"])}
    kind = obj.get("object")
    if kind == "charge":
        listed = (obj.get("refunds") or {}).get("data") or []
        fields |= {
            "charge_id": obj.get("id"),
            "refunds": [_refund(r) for r in listed if isinstance(r, dict)],
            "refunded_total_minor": obj.get("amount_refunded"),
            "currency": (obj.get("currency") or "").upper() or None,
        }
    elif kind == "refund":
        fields |= {"charge_id": _id(obj.get("charge")), "refunds": [_refund(obj)]}
    elif kind == "dispute":
        due = (obj.get("evidence_details") or {}).get("due_by")
        fields |= {
            "charge_id": _id(obj.get("charge")),
            "dispute": DisputeSeen(
                dispute_id=obj["id"],
                amount_minor=obj.get("amount") or 0,
                currency=(obj.get("currency") or "").upper(),
                status=obj.get("status") or "",
                reason=obj.get("reason"),
                evidence_due_by=datetime.fromtimestamp(due, tz=UTC) if due else None,
            ),
        }

    return PaymentEvent(
        event_id=data["id"],
        type=data["type"],
        created=datetime.fromtimestamp(data.get("created") or 0, tz=UTC),
        **fields,
    )


def _id(value) -> str | None:
    return value if isinstance(value, str) or value is None else value.get("id")


def _refund(obj: dict) -> RefundSeen:
    return RefundSeen(
        refund_id=obj["id"],
        amount_minor=obj.get("amount") or 0,
        status=obj.get("status") or "succeeded",
        ours=bool((obj.get("metadata") or {}).get("idempotency_key")),
        reason=obj.get("reason"),
    )
