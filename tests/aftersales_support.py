"""Test data for warranty and after-sales: a warranted product, a customer, a delivered order."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update

from backroom.catalog import service as catalog
from backroom.catalog.models import Product
from backroom.catalog.schemas import ProductCreate
from backroom.db.base import utcnow
from backroom.warranty import service as warranty
from backroom.warranty.schemas import WarrantyCreate
from tests.custops_helpers import create_customer
from tests.helpers import TEST_ACTOR, create_branch, uniq


async def warranted_product(session, *, months=12, price=49900, kind="goods", stock_branch=None, stock=0):
    p = await catalog.create_product(
        session,
        actor=TEST_ACTOR,
        data=ProductCreate(
            sku=uniq("W-"), name=f"Drill {uniq()}", category="tools", price_minor=price, weight_g=900
        ),
    )
    await session.execute(update(Product).where(Product.id == p.id).values(warranty_months=months, kind=kind))
    await session.refresh(p)
    if stock_branch is not None and stock:
        await catalog.adjust_stock(
            session, actor=TEST_ACTOR, product_id=p.id, branch_id=stock_branch.id, delta=stock, reason="test"
        )
    return p


async def registered(
    session,
    *,
    left: timedelta,
    now: datetime | None = None,
    months=12,
    consent=True,
    serial=None,
    branch=None,
):
    """(branch, customer, product, warranty) registered by hand, ending `left` after `now` (the
    time-skipping server's clock runs ahead of the wall clock, so tests pass its time)."""
    branch = branch or await create_branch(session)
    customer = await create_customer(session, branch=branch, consent_email=consent)
    product = await warranted_product(session, months=months)
    w = await warranty.register_manual(
        session,
        actor=TEST_ACTOR,
        data=WarrantyCreate(
            customer_id=customer.id,
            product_id=product.id,
            serial=serial or uniq("SN"),
            purchased_at=utcnow() - timedelta(days=1),
            proof="receipt 42",
        ),
    )
    w.expires_at = (now or utcnow()) + left
    w.starts_at = w.purchased_at = w.expires_at - timedelta(days=30 * months)
    await session.flush()
    return branch, customer, product, w


async def paid_delivered_order(db, settings, gateway, *, price=49900, months=12, qty=1):
    """A branch, a customer, a warranted product and an order of it, paid on localstripe and
    delivered (which registered its warranties). Returns (branch, customer, product, order, line)."""
    from backroom.orders import service as orders
    from tests.commerce_support import place

    async with db.sessionmaker.begin() as s:
        branch = await create_branch(s)
        customer = await create_customer(s, branch=branch, consent_email=True)
        product = await warranted_product(s, months=months, price=price, stock_branch=branch, stock=5)
    order = await place(db, branch, [(product.id, qty)])
    auth = await gateway.authorize(order.total_minor, "USD", "pm_card_visa", uniq("auth-"))
    captured = await gateway.capture(auth.intent_id, None, uniq("cap-"))
    async with db.sessionmaker.begin() as s:
        o = await orders.get_order(s, order.id)
        o.customer_id, o.payment_intent_id, o.captured_minor = (
            customer.id,
            auth.intent_id,
            captured.captured_minor,
        )
        await orders.set_status(
            s, actor=TEST_ACTOR, order_id=o.id, status="delivered", message="Delivered.", key=uniq("dlv-")
        )
        line = (await orders.lines_of(s, o.id))[0]
    return branch, customer, product, o, line
