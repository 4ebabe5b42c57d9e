"""Provider events for orders: a verified Stripe or Shippo event is remembered (redeliveries are
dropped) and told to the order's workflow through the outbox, in the same transaction, so an
event received while Temporal is down is delivered when it is back. In test mode the storefront
plays the bank's 3-D Secure page and tells the workflow the same way."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.orders import service as orders
from backroom.orders.adapters import is_test_mode, stripe_config
from backroom.orders.flow import PaymentSignal, TrackingSignal
from backroom.orders.models import Order, OrderStatus, Parcel
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


def can_confirm_3ds_for_test(order: Order, settings) -> bool:
    """Whether the storefront offers the test bank's 3-D Secure page for this order. Pure."""
    return (
        order.status == OrderStatus.AWAITING_AUTHENTICATION
        and bool(order.payment_intent_id)
        and is_test_mode(settings)
    )


async def confirm_3ds_for_test(session: AsyncSession, *, order: Order, settings, succeed: bool) -> bool:
    """Test mode (localstripe): answer 3-D Secure as the customer's bank would, then queue the
    outcome for the order's workflow. False when there is nothing to confirm."""
    if not can_confirm_3ds_for_test(order, settings):
        return False
    from backroom.payments.stripe_gateway import StripeGateway

    key, base = stripe_config(settings)
    result = await StripeGateway(key, api_base=base).complete_3ds_for_test(
        order.payment_intent_id, succeed=succeed
    )
    sig = PaymentSignal(authorized=result.status is PaymentStatus.AUTHORIZED, message=result.message)
    await tell_payment(session, order_id=order.id, signal=sig, prefix=settings.workflow_prefix)
    return True
