"""What each verified Stripe event means for an order (issue 14 item 7). Called by
backroom/orders/webhooks.py after the event was remembered (a redelivery never gets here),
inside the request's transaction: every change is audited, and what the order's workflow must
know goes through the outbox with it.

- payment_intent.succeeded / amount_capturable_updated / payment_failed / canceled: how the
  payment the workflow waits for ended (a cancel made outside Backroom on an order that was
  going ahead raises an alert: it can no longer be charged).
- charge.refunded, refund.created / refund.updated: a refund made outside Backroom (the Stripe
  dashboard) shows on the order: ledger row, refunded total, timeline, and the workflow is told
  so its own refunds never ask for more than is left. Our own refunds carry their idempotency
  key in Stripe's metadata and are recorded by the workflow instead. A refund that failed later
  is marked so, taken off the refunded total, and raises an alert. (Stripe API versions since
  2022-11-15 leave the refund list out of charge.refunded: subscribe the endpoint to
  refund.created and refund.updated too, which name each refund.)
- charge.dispute.created: an alert, the order's vendor shares frozen (no payout of disputed
  money), the loyalty points it earned put on hold (not spendable), and finance asked for
  evidence before Stripe's deadline (mail to the branch's finance users, and the alert names
  the date). charge.dispute.closed: won thaws the shares and releases the points; lost records
  the loss in the ledger and counts it as refunded (vendor shares and loyalty points follow,
  as after a refund).
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.auth.models import RoleGrant, User
from backroom.money import format_money
from backroom.notifications import service as notify
from backroom.orders import service as orders
from backroom.orders.flow import REFUNDED_ELSEWHERE, PaymentSignal, RefundedElsewhere
from backroom.orders.models import Order, OrderStatus, PaymentEntry, PaymentKind
from backroom.payments.gateway import PaymentStatus
from backroom.payments.webhooks import DisputeSeen, PaymentEvent, RefundSeen
from backroom.starts.service import enqueue_signal

STRIPE = Actor.system("stripe")
WAITING = (OrderStatus.PLACED, OrderStatus.AWAITING_PAYMENT, OrderStatus.AWAITING_AUTHENTICATION)
ENDED = (OrderStatus.CANCELLED, OrderStatus.PAYMENT_FAILED)
REFUND_EVENTS = ("charge.refunded", "refund.created", "refund.updated")
DISPUTE_EVENTS = ("charge.dispute.created", "charge.dispute.closed")


async def order_of(session: AsyncSession, event: PaymentEvent) -> Order | None:
    """The order the event is about (by its PaymentIntent, else by its charge), locked."""
    order_id = None
    if event.intent_id:
        order_id = await session.scalar(select(Order.id).where(Order.payment_intent_id == event.intent_id))
    if order_id is None and event.charge_id:
        order_id = await session.scalar(
            select(PaymentEntry.order_id).where(PaymentEntry.gateway_ref == event.charge_id).limit(1)
        )
    # Locked: two events about one order (a refund and a dispute) apply one after the other.
    return await orders.get_order(session, order_id, lock=True) if order_id else None


async def apply(session: AsyncSession, *, event: PaymentEvent, prefix: str = "") -> bool:
    """Act on one new event; True when the order's workflow is told. Unknown types, and events
    about no order of ours, change nothing (the event is already stored)."""
    order = await order_of(session, event)
    if order is None:
        return False
    if event.type.startswith("payment_intent."):
        return await _payment(session, order, event, prefix)
    if event.type in REFUND_EVENTS:
        return await _refunds(session, order, event, prefix)
    if event.type in DISPUTE_EVENTS and event.dispute is not None:
        return await _dispute(session, order, event, event.dispute, prefix)
    return False


async def _signal(session: AsyncSession, order: Order, name: str, arg, prefix: str) -> bool:
    await enqueue_signal(session, workflow_id=orders.workflow_id(order.id, prefix), signal=name, arg=arg)
    return True


async def _payment(session: AsyncSession, order: Order, event: PaymentEvent, prefix: str) -> bool:
    if event.status in (PaymentStatus.AUTHORIZED, PaymentStatus.DECLINED):
        signal = PaymentSignal(authorized=event.status is PaymentStatus.AUTHORIZED, message=event.message)
        return await _signal(session, order, "payment_update", signal, prefix)
    if event.status is not PaymentStatus.CANCELLED or order.status in ENDED:
        return False
    if order.status in WAITING:
        signal = PaymentSignal(authorized=False, message="The payment was cancelled.")
        return await _signal(session, order, "payment_update", signal, prefix)
    ours = await session.scalar(
        select(PaymentEntry.id).where(
            PaymentEntry.order_id == order.id, PaymentEntry.kind == PaymentKind.VOID
        )
    )
    if ours is None:
        await _alert(
            session,
            order,
            kind="payment_cancelled",
            key=f"stripe:{event.intent_id}:canceled",
            message=f"The card payment of order #{order.id} was cancelled outside Backroom; "
            "it can no longer be charged. Contact the customer before shipping.",
        )
    return False


async def _refunds(session: AsyncSession, order: Order, event: PaymentEvent, prefix: str) -> bool:
    told = False
    for refund in event.refunds:
        told = await _refund(session, order, refund, prefix) or told
    return told


async def _refund(session: AsyncSession, order: Order, refund: RefundSeen, prefix: str) -> bool:
    """One refund seen at Stripe. Idempotent per refund id and status."""
    entry = await session.scalar(
        select(PaymentEntry).where(
            PaymentEntry.kind == PaymentKind.REFUND, PaymentEntry.gateway_ref == refund.refund_id
        )
    )
    amount = format_money(refund.amount_minor, order.currency)
    if entry is not None:
        if entry.status == refund.status:
            return False
        before = entry.status
        entry.status = refund.status
        await audit.record(
            session,
            actor=STRIPE,
            action="payment.refund_status",
            entity_type="order",
            entity_id=order.id,
            branch_id=order.branch_id,
            before={"refund": refund.refund_id, "status": before},
            after={"refund": refund.refund_id, "status": refund.status},
        )
        if refund.status not in ("failed", "canceled") or before not in ("succeeded", "pending"):
            return False
        order.refunded_minor = max(0, order.refunded_minor - refund.amount_minor)
        await _note(
            session,
            order,
            "refund_failed",
            f"The refund of {amount} {refund.status} at Stripe; the customer has not got it.",
            key=f"stripe:{refund.refund_id}:{refund.status}",
        )
        await _alert(
            session,
            order,
            kind="refund_failed",
            key=f"stripe:{refund.refund_id}:failed",
            message=f"A refund of {amount} on order #{order.id} {refund.status}: refund the customer another way.",
        )
        return False
    if refund.ours or refund.status not in ("succeeded", "pending"):
        return False  # ours: the workflow records it with the result of its own call
    cap = order.captured_minor or order.total_minor
    order.refunded_minor = min(cap, order.refunded_minor + refund.amount_minor)
    await orders.ledger(
        session,
        actor=STRIPE,
        order=order,
        kind=PaymentKind.REFUND,
        status=refund.status,
        amount_minor=refund.amount_minor,
        idempotency_key=f"stripe:{refund.refund_id}",
        intent_id=order.payment_intent_id,
        gateway_ref=refund.refund_id,
        message="Refunded in Stripe, outside Backroom.",
    )
    await _note(
        session,
        order,
        "refunded_outside",
        f"Refund of {amount} made in Stripe (outside Backroom).",
        key=f"stripe:{refund.refund_id}:event",
    )
    return await _signal(
        session, order, REFUNDED_ELSEWHERE, RefundedElsewhere(refunded_minor=order.refunded_minor), prefix
    )


async def _dispute(
    session: AsyncSession, order: Order, event: PaymentEvent, dispute: DisputeSeen, prefix: str
) -> bool:
    from backroom.loyalty import service as loyalty
    from backroom.vendors import shares

    amount = format_money(dispute.amount_minor, dispute.currency or order.currency)
    if event.type == "charge.dispute.created":
        frozen = await shares.freeze_shares(session, actor=STRIPE, order=order)
        held = await loyalty.hold_order(session, actor=STRIPE, order=order, held=True, reason="dispute")
        due = (
            dispute.evidence_due_by.strftime("%Y-%m-%d %H:%M UTC")
            if dispute.evidence_due_by
            else "the deadline"
        )
        message = (
            f"The customer's bank disputes {amount} of order #{order.id} ({dispute.reason or 'no reason given'}). "
            f"Finance: send evidence in Stripe before {due}."
            + (f" {frozen} vendor share(s) frozen until it closes." if frozen else "")
            + (f" {held} loyalty point(s) on hold until it closes." if held else "")
        )
        await _note(session, order, "dispute_opened", message, key=f"stripe:{dispute.dispute_id}:opened")
        await _alert(session, order, kind="dispute", key=f"stripe:{dispute.dispute_id}", message=message)
        await _ask_finance(session, order, dispute, message)
        return False
    if dispute.status in ("won", "lost"):
        # Released either way: a loss then takes the points back as after a refund.
        await loyalty.hold_order(
            session, actor=STRIPE, order=order, held=False, reason=f"dispute {dispute.status}"
        )
    if dispute.status == "won":
        await shares.thaw_shares(session, actor=STRIPE, order=order)
        await _note(
            session,
            order,
            "dispute_won",
            f"The dispute over {amount} was decided for us; nothing was lost.",
            key=f"stripe:{dispute.dispute_id}:closed",
        )
        return False
    if dispute.status != "lost":
        return False
    await orders.ledger(
        session,
        actor=STRIPE,
        order=order,
        kind=PaymentKind.DISPUTE_LOST,
        status="lost",
        amount_minor=dispute.amount_minor,
        idempotency_key=f"stripe:{dispute.dispute_id}:lost",
        intent_id=order.payment_intent_id,
        gateway_ref=dispute.dispute_id,
        message=f"Dispute lost ({dispute.reason or 'no reason given'}).",
    )
    cap = order.captured_minor or order.total_minor
    order.refunded_minor = min(cap, order.refunded_minor + dispute.amount_minor)
    await shares.thaw_shares(session, actor=STRIPE, order=order)
    await _note(
        session,
        order,
        "dispute_lost",
        f"The dispute over {amount} was lost: the money went back to the customer's bank.",
        key=f"stripe:{dispute.dispute_id}:closed",
    )
    # What follows a refund follows the loss: vendor shares reversed, loyalty points taken back.
    from backroom.orders import events

    status = "refunded" if order.refunded_minor >= cap else "partially_refunded"
    await events.emit(
        session, events.OrderChange(order, status, f"stripe:{dispute.dispute_id}:lost", STRIPE, {})
    )
    return await _signal(
        session, order, REFUNDED_ELSEWHERE, RefundedElsewhere(refunded_minor=order.refunded_minor), prefix
    )


async def _note(session: AsyncSession, order: Order, kind: str, message: str, *, key: str) -> None:
    """A line on the order's timeline, from Stripe. Idempotent per key."""
    await orders.add_event(
        session, order_id=order.id, kind=kind, message=message, actor_name=STRIPE.name, key=key
    )


async def _alert(session: AsyncSession, order: Order, *, kind: str, key: str, message: str) -> None:
    await orders.alert_order(
        session,
        actor=STRIPE,
        order=order,
        kind=kind,
        severity="critical",
        message=message,
        key=key,
        event_key=f"{key}:alert-event",
    )


async def _ask_finance(session: AsyncSession, order: Order, dispute: DisputeSeen, message: str) -> None:
    """Mail the finance users of the order's branch (or of every branch) through the outbox."""
    finance = await session.scalars(
        select(User.id)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .where(
            RoleGrant.role == "finance",
            or_(RoleGrant.branch_id == order.branch_id, RoleGrant.branch_id.is_(None)),
            User.is_active.is_(True),
        )
        .distinct()
    )
    for uid in finance:
        await notify.enqueue(
            session,
            kind="dispute.evidence",
            to_user_id=uid,
            branch_id=order.branch_id,
            subject=f"Evidence needed: dispute on order #{order.id}",
            body=message + f"\nThe order: /orders/{order.id}",
            link=f"/orders/{order.id}",
            dedupe_key=f"dispute-{dispute.dispute_id}:finance-{uid}",
        )
