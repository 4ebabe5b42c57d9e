"""Provider webhooks (PUBLIC: each verifies its own signature), de-duplicated by event id."""

from __future__ import annotations

import hashlib
import hmac
import json

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import PUBLIC, get_session
from backroom.errors import AppError, Unauthorized
from backroom.orders import control
from backroom.orders.flow import PaymentSignal, TrackingSignal
from backroom.orders.models import Order, Parcel
from backroom.orders import service as orders
from backroom.payments.errors import InvalidSignature
from backroom.payments.gateway import PaymentStatus
from backroom.payments.webhooks import parse_event

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


class WebhookNotConfigured(AppError):
    status, code, title = 503, "webhook_not_configured", "Webhook secret not configured"


@router.post("/stripe", dependencies=[PUBLIC])
async def stripe_webhook(request: Request, session: AsyncSession = Depends(get_session)):
    """Verify Stripe-Signature, drop redeliveries, tell the order's workflow how 3-D Secure ended."""
    settings = request.app.state.settings
    if not settings.stripe_webhook_secret:
        raise WebhookNotConfigured("STRIPE_WEBHOOK_SECRET is not set.")
    body = await request.body()
    event = parse_event(body, request.headers.get("stripe-signature"), settings.stripe_webhook_secret)
    if await orders.seen_webhook(session, provider="stripe", event_id=event.event_id, type=event.type,
                                 payload={"intent_id": event.intent_id, "status": event.status}):
        return {"received": True, "duplicate": True}
    await session.commit()
    signalled = False
    if event.intent_id and event.status in (PaymentStatus.AUTHORIZED, PaymentStatus.DECLINED):
        order_id = await session.scalar(select(Order.id).where(Order.payment_intent_id == event.intent_id))
        if order_id:
            sig = PaymentSignal(authorized=event.status is PaymentStatus.AUTHORIZED, message=event.message)
            signalled = await control.signal_payment(await request.app.state.temporal.client(), order_id, sig,
                                                     prefix=settings.workflow_prefix)
    return {"received": True, "duplicate": False, "signalled": signalled}


def _shippo_ok(request: Request, secret: str | None) -> None:
    # Shippo does not sign webhooks; the URL carries a shared secret (?token=...), compared in constant time.
    if not secret:
        raise WebhookNotConfigured("SHIPPO_WEBHOOK_SECRET is not set.")
    if not hmac.compare_digest(request.query_params.get("token", ""), secret):
        raise InvalidSignature("Bad or missing webhook token.")


@router.post("/shippo", dependencies=[PUBLIC])
async def shippo_webhook(request: Request, session: AsyncSession = Depends(get_session)):
    """A tracking update: de-duplicated (Shippo may send one twice), delivered parcels signalled."""
    settings = request.app.state.settings
    _shippo_ok(request, settings.shippo_webhook_secret)
    body = await request.body()
    try:
        payload = json.loads(body)
        data = payload.get("data") or {}
        tracking_number = str(data["tracking_number"])
        status = str((data.get("tracking_status") or {}).get("status") or "UNKNOWN").lower()
    except (ValueError, KeyError, TypeError, AttributeError):
        raise Unauthorized("Not a Shippo tracking event.") from None
    event_id = str((data.get("tracking_status") or {}).get("object_id") or hashlib.sha256(body).hexdigest())
    if await orders.seen_webhook(session, provider="shippo", event_id=event_id, type=str(payload.get("event")),
                                 payload={"tracking_number": tracking_number, "status": status}):
        return {"received": True, "duplicate": True}
    await session.commit()
    parcel = await session.scalar(select(Parcel).where(Parcel.tracking_number == tracking_number))
    signalled = False
    if parcel is not None:
        signalled = await control.signal_tracking(await request.app.state.temporal.client(), parcel.order_id,
                                                  TrackingSignal(tracking_number=tracking_number, status=status),
                                                  prefix=settings.workflow_prefix)
    return {"received": True, "duplicate": False, "signalled": signalled}
