"""Test-data helpers for loyalty and segments: a program in a currency of its own (so tests
sharing a database never meet each other's active program), and members."""

from __future__ import annotations

import random
import string

from sqlalchemy import select

from backroom.loyalty import service as loyalty
from backroom.loyalty.models import LoyaltyProgram
from backroom.loyalty.schemas import ProgramCreate, TierIn
from tests.helpers import TEST_ACTOR, create_branch, create_customer

TIERS = [
    TierIn(name="Bronze", min_spend_minor=0, multiplier_percent=100),
    TierIn(name="Silver", min_spend_minor=50_000, multiplier_percent=125, perks="Free shipping"),
    TierIn(name="Gold", min_spend_minor=200_000, multiplier_percent=150, perks="Early access"),
]


async def fresh_currency(session) -> str:
    used = set((await session.scalars(select(LoyaltyProgram.currency))).all()) | {"USD", "EUR", "GBP", "JPY"}
    while True:
        code = "".join(random.choices(string.ascii_uppercase, k=3))
        if code not in used:
            return code


async def make_program(session, **kw) -> LoyaltyProgram:
    data = ProgramCreate(
        name=kw.pop("name", "Test rewards"),
        currency=kw.pop("currency", None) or await fresh_currency(session),
        tiers=kw.pop("tiers", TIERS),
        **kw,
    )
    program = await loyalty.create_program(session, actor=TEST_ACTOR, data=data)
    await loyalty.activate_program(session, actor=TEST_ACTOR, program_id=program.id)
    return program


async def make_member(session, program, *, branch=None, consent_email=True, **kw):
    branch = branch or await create_branch(session)
    customer = await create_customer(
        session, branch=branch, currency=program.currency, consent_email=consent_email, **kw
    )
    member = await loyalty.enrol(session, actor=TEST_ACTOR, customer_id=customer.id, consent=True)
    return customer, member


async def add_order(
    session, customer, *, total_minor: int, placed_at, status: str = "delivered", currency="USD", product=None
):
    """An order row as the order workflow leaves it (for segment and RFM tests: no stock, no
    payment gateway involved)."""
    from backroom.orders.models import Order
    from tests.helpers import uniq

    order = Order(
        token=uniq("tok"),
        idempotency_key=uniq("idem"),
        request_hash="x" * 64,
        customer_id=customer.id,
        email=customer.email or "x@example.com",
        ship_name=customer.name,
        ship_line1="1 Main St",
        ship_city="Town",
        ship_postcode="1000",
        ship_country="US",
        status=status,
        currency=currency,
        subtotal_minor=total_minor,
        total_minor=total_minor,
        payment_method="pm_card_visa",
        placed_at=placed_at,
        branch_id=customer.home_branch_id,
    )
    session.add(order)
    await session.flush()
    if product is not None:  # one line of that product worth the whole order
        from backroom.orders.models import OrderLine

        session.add(
            OrderLine(
                order_id=order.id,
                product_id=product.id,
                sku=product.sku,
                name=product.name,
                qty=1,
                unit_price_minor=total_minor,
                line_total_minor=total_minor,
                fulfil_branch_id=customer.home_branch_id,
            )
        )
        await session.flush()
    return order
