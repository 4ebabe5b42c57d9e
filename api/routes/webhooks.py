"""Provider webhooks (PUBLIC: each verifies its own signature), de-duplicated by event id."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from api.deps import PUBLIC, Session
from backroom.errors import AppError
from backroom.orders import control
from backroom.orders import service as orders
from backroom.orders.flow import PaymentSignal, TrackingSignal
from backroom.orders.models import Order, Parcel
from backroom.payments.errors import InvalidSignature
from backroom.payments.gateway import PaymentStatus
from backroom.payments.webhooks import parse_event
from backroom.shipping.tracking import parse_track_webhook, token_matches

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


class WebhookNotConfigured(AppError):
    # 404: without its secret the endpoint is switched off (and the bad-input contract is 4xx).
    status, code, title = 404, "webhook_not_configured", "Webhook not configured"


@router.post("/stripe", dependencies=[PUBLIC])
async def stripe_webhook(session: Session, request: Request):
    """Verify Stripe-Signature, drop redeliveries, tell the order's workflow how 3-D Secure ended."""
    settings = request.app.state.settings
    if not settings.stripe_webhook_secret:
        raise WebhookNotConfigured("STRIPE_WEBHOOK_SECRET is not set.")
    body = await request.body()
    event = parse_event(body, request.headers.get("stripe-signature"), settings.stripe_webhook_secret)
    if await orders.seen_webhook(
        session,
        provider="stripe",
        event_id=event.event_id,
        type=event.type,
        payload={"intent_id": event.intent_id, "status": event.status},
    ):
        return {"received": True, "duplicate": True}
    await session.commit()
    signalled = False
    if event.intent_id and event.status in (PaymentStatus.AUTHORIZED, PaymentStatus.DECLINED):
        order_id = await session.scalar(select(Order.id).where(Order.payment_intent_id == event.intent_id))
        if order_id:
            sig = PaymentSignal(authorized=event.status is PaymentStatus.AUTHORIZED, message=event.message)
            signalled = await control.signal_payment(
                await request.app.state.temporal.client(), order_id, sig, prefix=settings.workflow_prefix
            )
    return {"received": True, "duplicate": False, "signalled": signalled}


@router.post("/shippo", dependencies=[PUBLIC])
async def shippo_webhook(session: Session, request: Request):
    """A tracking update: Shippo does not sign webhooks, so the URL carries a shared token
    (?token=...); de-duplicated (Shippo may send one twice); delivered parcels are signalled."""
    settings = request.app.state.settings
    if not settings.shippo_webhook_secret:
        raise WebhookNotConfigured("SHIPPO_WEBHOOK_SECRET is not set.")
    if not token_matches(request.query_params.get("token"), settings.shippo_webhook_secret):
        raise InvalidSignature("Bad or missing webhook token.")
    update = parse_track_webhook(await request.body())
    if await orders.seen_webhook(
        session,
        provider="shippo",
        event_id=update.dedup_key,
        type=update.status.value,
        payload={"tracking_number": update.tracking_number, "status": update.raw_status},
    ):
        return {"received": True, "duplicate": True}
    await session.commit()
    parcel = await session.scalar(select(Parcel).where(Parcel.tracking_number == update.tracking_number))
    signalled = False
    if parcel is not None:
        signalled = await control.signal_tracking(
            await request.app.state.temporal.client(),
            parcel.order_id,
            TrackingSignal(tracking_number=update.tracking_number, status=update.status.value.lower()),
            prefix=settings.workflow_prefix,
        )
    return {"received": True, "duplicate": False, "signalled": signalled}
