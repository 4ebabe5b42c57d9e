"""Provider events for orders: a verified Stripe or Shippo event is remembered (redeliveries are
dropped) and told to the order's workflow through the outbox, in the same transaction, so an
event received while Temporal is down is delivered when it is back. The storefront's card form
tells the workflow the same way (backroom/orders/card_entry.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.orders import service as orders
from backroom.orders import stripe_events, tracking_events
from backroom.orders.flow import PaymentSignal, TrackingSignal
from backroom.orders.models import Parcel
from backroom.orders.schemas import WebhookReceipt
from backroom.payments.webhooks import PaymentEvent
from backroom.shipping.tracking import TrackingUpdate
from backroom.starts.service import enqueue_signal


async def receive_payment_event(
    session: AsyncSession, *, event: PaymentEvent, prefix: str = ""
) -> WebhookReceipt:
    """A Stripe event for the order holding its payment (what each type does:
    backroom/orders/stripe_events.py). Every event is stored, unknown types too, and then
    ignored. Idempotent per Stripe event id."""
    if await orders.seen_webhook(
        session,
        provider="stripe",
        event_id=event.event_id,
        type=event.type,
        payload={"intent_id": event.intent_id, "status": event.status, "charge_id": event.charge_id},
    ):
        return WebhookReceipt(duplicate=True)
    return WebhookReceipt(signalled=await stripe_events.apply(session, event=event, prefix=prefix))


async def receive_tracking_update(
    session: AsyncSession, *, update: TrackingUpdate, prefix: str = ""
) -> WebhookReceipt:
    """A carrier's tracking update: the parcel keeps the carrier's latest status (what the
    customer's order page shows), the timeline gets the scan, a returned or failed parcel raises
    an exception alert for its branch's warehouse, and the order's workflow hears it (delivered
    completes the parcel). Idempotent per update (Shippo may send one twice)."""
    if await orders.seen_webhook(
        session,
        provider="shippo",
        event_id=update.dedup_key,
        type=update.status.value,
        payload={"tracking_number": update.tracking_number, "status": update.raw_status},
    ):
        return WebhookReceipt(duplicate=True)
    # Locked: two scans of one parcel arriving at once compare their times one after the other.
    parcel = await session.scalar(
        select(Parcel).where(Parcel.tracking_number == update.tracking_number).with_for_update()
    )
    if parcel is None:
        return WebhookReceipt()
    await tracking_events.record(session, parcel=parcel, update=update)
    sig = TrackingSignal(tracking_number=update.tracking_number, status=update.status.value.lower())
    await enqueue_signal(
        session, workflow_id=orders.workflow_id(parcel.order_id, prefix), signal="tracking", arg=sig
    )
    return WebhookReceipt(signalled=True)


async def tell_payment(
    session: AsyncSession, *, order_id: int, signal: PaymentSignal, prefix: str = ""
) -> None:
    """Queue the `payment_update` signal for the order's workflow (sent after the commit)."""
    await enqueue_signal(
        session, workflow_id=orders.workflow_id(order_id, prefix), signal="payment_update", arg=signal
    )
