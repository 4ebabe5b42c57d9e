"""Orders' plug-ins: orders and carts follow a merged customer, a customer's timeline lists
their orders, a storefront order joins the CRM customer with its e-mail (or makes one) once
paid, and the shopper gets an e-mail with the link to pay when staff placed the order for
them, and when the order is confirmed (payment held),
shipped (tracking numbers and the carrier's tracking links) and refunded. Each mail is queued
in the status change's transaction, once per event (dedupe key), and links to the order page."""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.customers import service as customers
from backroom.customers.links import TimelineItem, register_erase_handler, register_link, register_timeline
from backroom.customers.models import Customer, CustomerStatus
from backroom.customers.schemas import CustomerCreate
from backroom.money import format_money
from backroom.notifications import service as notify
from backroom.notifications.models import ERASED_BODY, Notification
from backroom.orders.events import OrderChange, on_order
from backroom.orders.models import Order, OrderLine, Parcel
from backroom.text import words

register_link("orders", "customer_id")
register_link("carts", "customer_id")


@register_erase_handler
async def _erase_shopper(session: AsyncSession, *, customer_id: int, **_) -> list[str]:
    """The customer's orders lose the shopper's e-mail and address (money, lines and parcels
    stay), their e-mails their text, and the audit keys of orders placed before they joined
    the customer are destroyed with the customer's."""
    ids = (await session.scalars(select(Order.id).where(Order.customer_id == customer_id))).all()
    if not ids:
        return []
    await session.execute(
        update(Order)
        .where(Order.customer_id == customer_id)
        .values(
            email="",
            ship_name="(erased)",
            ship_line1="",
            ship_city="",
            ship_postcode="",
            billing_postcode=None,
        )
        .execution_options(synchronize_session=False)
    )
    for order_id in ids:
        await session.execute(
            update(Notification)
            .where(Notification.dedupe_key.like(f"order-{order_id}:%"))
            .values(to_address=None, subject="(erased)", body=ERASED_BODY)
        )
    return [f"order:{i}" for i in ids]


@register_timeline
async def _orders(session: AsyncSession, customer_id: int, limit: int) -> list[TimelineItem]:
    rows = await session.execute(
        select(Order).where(Order.customer_id == customer_id).order_by(Order.placed_at.desc()).limit(limit)
    )
    return [
        TimelineItem(
            o.placed_at,
            "order",
            f"Order #{o.id}: {format_money(o.total_minor, o.currency)}",
            words(o.status),
            f"/orders/{o.id}",
        )
        for o in rows.scalars()
    ]


# Public tracking pages of the carriers Shippo buys labels from, by Shippo's carrier token.
TRACKING_PAGES = {
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "ups": "https://www.ups.com/track?tracknum={}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={}",
    "dhl_express": "https://www.dhl.com/en/express/tracking.html?AWB={}",
}


def tracking_link(carrier: str | None, number: str | None) -> str | None:
    """The carrier's public tracking page for a parcel, if we know the carrier. Pure."""
    page = TRACKING_PAGES.get((carrier or "").strip().lower())
    return page.format(number) if page and number else None


async def _mail(session: AsyncSession, order: Order, what: str, subject: str, body: str, key: str) -> None:
    await notify.enqueue(
        session,
        kind=f"order.{what}",
        subject=subject,
        body=body,
        to_address=order.email,
        to_customer_id=order.customer_id,
        branch_id=order.branch_id,
        link=f"/shop/orders/{order.token}",
        dedupe_key=f"order-{order.id}:{what}:{key}",
    )


@on_order("payment_authorized")
async def _attach_customer(session: AsyncSession, event: OrderChange) -> None:
    """An order placed without a customer (the storefront has no sign-in) joins the CRM once
    its payment is held: the one active customer with the order's e-mail, or a new customer
    made from the order (no marketing consent). Two customers with that e-mail: left alone
    (staff merge them first). Idempotent: an attached order is left as it is."""
    order = event.order
    if order.customer_id is not None or not order.email:
        return
    matches = (
        await session.scalars(
            select(Customer.id)
            .where(
                Customer.email_norm == order.email.strip().lower(), Customer.status == CustomerStatus.active
            )
            .limit(2)
        )
    ).all()
    if len(matches) > 1:
        return
    if matches:
        order.customer_id = matches[0]
    else:
        try:
            data = CustomerCreate(
                name=order.ship_name or order.email,
                email=order.email,
                home_branch_id=order.branch_id,
                currency=order.currency,
                tags=["online"],
                notes=f"Joined with online order #{order.id}.",
            )
        except ValidationError:  # an address the customer register refuses: the order goes on
            return
        order.customer_id = (await customers.create_customer(session, actor=event.actor, data=data)).id
    await session.flush()
    await audit.record(
        session,
        actor=event.actor,
        action="order.attach_customer",
        entity_type="order",
        entity_id=order.id,
        branch_id=order.branch_id,
        after={"customer_id": order.customer_id, "created": not matches},
    )


@on_order("payment_authorized")
async def _confirmed(session: AsyncSession, event: OrderChange) -> None:
    order = event.order
    lines = (await session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))).all()
    items = "\n".join(
        f"  {ln.qty} x {ln.name}  {format_money(ln.line_total_minor, order.currency)}" for ln in lines
    )
    body = (
        f"Thank you for your order #{order.id}.\n\n{items}\n\n"
        f"Total: {format_money(order.total_minor, order.currency)}\n\n"
        "Your card is authorized; it is charged when the order ships. "
        "Follow the order on its page:"
    )
    await _mail(session, order, "confirmed", f"Order #{order.id} confirmed", body, "1")


@on_order("awaiting_payment")
async def _payment_link(session: AsyncSession, event: OrderChange) -> None:
    """An order staff placed for a customer (phone, counter) waits for the card: the customer
    gets the link to pay on the order's page. Storefront shoppers are on that page already."""
    order = event.order
    if order.created_by_id is None:
        return
    body = (
        f"Your order #{order.id} is ready: {format_money(order.total_minor, order.currency)}.\n\n"
        "Pay for it by card on its page (your card goes straight to our payment processor, Stripe). "
        "Until then we hold the items for you:"
    )
    await _mail(session, order, "payment_link", f"Pay for your order #{order.id}", body, "1")


@on_order("shipped")
async def _shipped(session: AsyncSession, event: OrderChange) -> None:
    order = event.order
    parcels = (
        await session.scalars(select(Parcel).where(Parcel.order_id == order.id).order_by(Parcel.id))
    ).all()
    rows = []
    for p in parcels:
        if p.tracking_number:
            link = tracking_link(p.carrier, p.tracking_number)
            carrier = (p.carrier or "the carrier").upper()
            rows.append(f"  {carrier} {p.tracking_number}" + (f"\n  Track it: {link}" if link else ""))
    tracking = "\n".join(rows) or "  The tracking number follows on the order page."
    body = f"Your order #{order.id} is on its way.\n\n{tracking}\n\nThe order page shows where it is:"
    await _mail(session, order, "shipped", f"Order #{order.id} has shipped", body, "1")


@on_order("refunded", "partially_refunded")
async def _refunded(session: AsyncSession, event: OrderChange) -> None:
    if event.key.endswith(":lost"):  # a lost dispute: the bank gave the money back, not us
        return
    order = event.order
    money = format_money(order.refunded_minor, order.currency)
    whole = event.status == "refunded"
    body = (
        f"We refunded {money} of your order #{order.id}"
        + (" (the whole order)." if whole else ".")
        + " Your bank shows it within a few working days. The order page:"
    )
    await _mail(session, order, "refunded", f"Refund for order #{order.id}", body, str(order.refunded_minor))
