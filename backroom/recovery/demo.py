"""Demo abandoned carts: the main branch's reminders carry the recovery coupon; three
customers (with marketing consent) left carts that got reminders, one came back and ordered.
The carts are past their cadence (their workflows ended), so nothing here runs timers.
Idempotent (by the demo customers' e-mail addresses)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.carts.models import Cart, CartLine
from backroom.catalog.models import Product
from backroom.customers.models import Customer
from backroom.db.base import utcnow
from backroom.notifications import service as notifications
from backroom.orders import service as orders
from backroom.orders.samples import place_sample
from backroom.promotions.models import Promotion
from backroom.recovery.models import DEFAULT_DELAYS_HOURS, CartRecovery, CartReminder, ReminderSettings

ACTOR = Actor.system("seed")
# name, e-mail, [(sku, qty)], reminders sent, recovered
PEOPLE = (
    ("Nora Lindqvist", "nora@demo.customer", [("LAMP-DESK", 1), ("BULB-LED4", 2)], 2, False),
    ("Omar Haddad", "omar@demo.customer", [("HEAD-ANC", 1)], 3, False),
    ("Pia Santos", "pia@demo.customer", [("THROW-WOOL", 1), ("PILLOW-LIN", 2)], 1, False),
    ("Quentin Roy", "quentin@demo.customer", [("KNIFE-CHEF", 1)], 2, True),
)


async def seed(session, context) -> None:
    branch = context["branches"][0]
    if await session.scalar(select(Customer.id).where(Customer.email == PEOPLE[0][1])):
        return
    recovery_promo = await session.scalar(select(Promotion.id).where(Promotion.code_mode == "recovery"))
    if await session.get(ReminderSettings, branch.id) is None:
        session.add(
            ReminderSettings(
                branch_id=branch.id,
                enabled=True,
                delays_hours=list(DEFAULT_DELAYS_HOURS),
                recovery_promotion_id=recovery_promo,
            )
        )
    products = {p.sku: p for p in await session.scalars(select(Product))}
    now = utcnow()
    for n, (name, email, items, sent, recovered) in enumerate(PEOPLE):
        if any(sku not in products for sku, _ in items):
            continue
        customer = Customer(
            name=name, email=email, home_branch_id=branch.id, currency=branch.currency, consent_email=True
        )
        session.add(customer)
        await session.flush()
        last = now - timedelta(days=18 + n)  # three weeks ago or so: last month's report has them
        total = sum(products[sku].price_minor * qty for sku, qty in items)
        cart = Cart(
            branch_id=branch.id,
            currency=branch.currency,
            customer_id=customer.id,
            status="abandoned",  # past the cadence and expired: a restore link makes a new cart
            item_count=sum(q for _, q in items),
            subtotal_minor=total,
            total_minor=total,
            last_activity_at=last,
            version=1,
        )
        session.add(cart)
        await session.flush()
        for sku, qty in items:
            p = products[sku]
            session.add(
                CartLine(
                    cart_id=cart.id,
                    product_id=p.id,
                    sku=sku,
                    name=p.name,
                    qty=qty,
                    unit_price_minor=p.price_minor,
                    line_total_minor=p.price_minor * qty,
                )
            )
        rec = CartRecovery(
            cart_id=cart.id,
            branch_id=branch.id,
            customer_id=customer.id,
            currency=branch.currency,
            value_minor=total,
            abandoned_at=last + timedelta(hours=1),
            reminders_sent=sent,
            last_step=sent,
            last_reminder_at=last + timedelta(hours=DEFAULT_DELAYS_HOURS[sent - 1]),
            recovered_minor=0,
        )
        session.add(rec)
        for step in range(1, sent + 1):
            at = last + timedelta(hours=DEFAULT_DELAYS_HOURS[step - 1])
            note = await notifications.enqueue(
                session,
                kind="cart_reminder",
                subject=f"You left something in your cart at {branch.name}",
                body=f"Hello {name}, your cart is waiting: {', '.join(products[s].name for s, _ in items)}.",
                to_customer_id=customer.id,
                branch_id=branch.id,
                dedupe_key=f"demo-cart-reminder:{email}:{step}",
            )
            session.add(
                CartReminder(
                    cart_id=cart.id,
                    branch_id=branch.id,
                    key=f"demo:{cart.id}:{step}",
                    step=step,
                    sent=True,
                    notification_id=note.id if note else None,
                    at=at,
                )
            )
        await session.flush()
        if recovered:
            # The customer came back through the last reminder and ordered: the order's
            # "placed" handler marks the cart recovered (backroom/recovery/hooks.py).
            order = await place_sample(
                session,
                actor=ACTOR,
                branch=branch,
                items=[(products[sku].id, qty) for sku, qty in items],
                key=f"demo-recovered-{cart.id}",
                email=email,
                name=name,
                street="12 Harbour Road",
                cart_id=cart.id,
                customer_id=customer.id,
            )
            await orders.set_status(
                session,
                actor=ACTOR,
                order_id=order.id,
                status="completed",
                message="Delivered.",
                key=f"demo-{order.id}",
            )
            cart.status, cart.order_id = "checked_out", order.id
            order.placed_at = rec.recovered_at = last + timedelta(hours=30)
            await session.flush()
        await audit.record(
            session,
            actor=ACTOR,
            action="abandoned_carts.demo",
            entity_type="cart",
            entity_id=cart.id,
            branch_id=branch.id,
            after={"customer": name, "reminders": sent, "recovered": recovered},
        )
