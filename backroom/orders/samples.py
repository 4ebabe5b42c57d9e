"""Orders the demo data places (promotions, abandoned-cart recovery, marketplace demos): the
storefront's checkout of a few products to a Portland address, paid with the test card."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit.context import Actor
from backroom.orders import service as orders
from backroom.orders.models import Order
from backroom.orders.schemas import CheckoutRequest


async def place_sample(
    session: AsyncSession,
    *,
    actor: Actor,
    branch,
    items: list[tuple[int, int]],
    key: str,
    email: str,
    name: str,
    street: str,
    cart_id: int | None = None,
    **place,
) -> Order:
    """Place a demo order of (product_id, qty) items; `place` goes on to `place_order`
    (codes, customer_id). Idempotent per `key` (the Idempotency-Key)."""
    body = CheckoutRequest(
        email=email,
        ship_name=name,
        ship_line1=street,
        ship_city="Portland",
        ship_postcode="04101",
        payment_method="pm_card_visa",
    )
    return await orders.place_order(
        session,
        actor=actor,
        cart_id=cart_id,
        branch_id=branch.id,
        items=items,
        body=body,
        idempotency_key=key,
        fingerprint=orders.request_hash(cart_id or 0, body),
        currency=branch.currency,
        **place,
    )
