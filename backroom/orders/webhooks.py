"""Provider events for orders: a verified Stripe or Shippo event is remembered (redeliveries are
dropped) and told to the order's workflow through the outbox, in the same transaction, so an
event received while Temporal is down is delivered when it is back. The storefront's card form
tells the workflow the same way (backroom/orders/card_entry.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.orders import service as orders
from backroom.orders.flow import PaymentSignal, TrackingSignal
from backroom.orders.models import Order, Parcel
from backroom.orders.schemas import WebhookReceipt
from backroom.payments.gateway import PaymentStatus
from backroom.payments.webhooks import PaymentEvent
from backroom.shipping.tracking import TrackingUpdate
from backroom.starts.service import enqueue_signal


async def receive_payment_event(
    session: AsyncSession, *, event: PaymentEvent, prefix: str = ""
) -> WebhookReceipt:
    """How 3-D Secure ended, for the order holding the intent. Idempotent per Stripe event id."""
    if await orders.seen_webhook(
        session,
        provider="stripe",
        event_id=event.event_id,
        type=event.type,
        payload={"intent_id": event.intent_id, "status": event.status},
    ):
        return WebhookReceipt(duplicate=True)
    order_id = None
    if event.intent_id and event.status in (PaymentStatus.AUTHORIZED, PaymentStatus.DECLINED):
        order_id = await session.scalar(select(Order.id).where(Order.payment_intent_id == event.intent_id))
    if order_id:
        sig = PaymentSignal(authorized=event.status is PaymentStatus.AUTHORIZED, message=event.message)
        await tell_payment(session, order_id=order_id, signal=sig, prefix=prefix)
    return WebhookReceipt(signalled=bool(order_id))


async def receive_tracking_update(
    session: AsyncSession, *, update: TrackingUpdate, prefix: str = ""
) -> WebhookReceipt:
    """A carrier's tracking update, for the order shipping the parcel. Idempotent per update."""
    if await orders.seen_webhook(
        session,
        provider="shippo",
        event_id=update.dedup_key,
        type=update.status.value,
        payload={"tracking_number": update.tracking_number, "status": update.raw_status},
    ):
        return WebhookReceipt(duplicate=True)
    order_id = await session.scalar(
        select(Parcel.order_id).where(Parcel.tracking_number == update.tracking_number)
    )
    if order_id is not None:
        sig = TrackingSignal(tracking_number=update.tracking_number, status=update.status.value.lower())
        await enqueue_signal(
            session, workflow_id=orders.workflow_id(order_id, prefix), signal="tracking", arg=sig
        )
    return WebhookReceipt(signalled=order_id is not None)


async def tell_payment(
    session: AsyncSession, *, order_id: int, signal: PaymentSignal, prefix: str = ""
) -> None:
    """Queue the `payment_update` signal for the order's workflow (sent after the commit)."""
    await enqueue_signal(
        session, workflow_id=orders.workflow_id(order_id, prefix), signal="payment_update", arg=signal
    )
