"""Test data for promotions and cart recovery: promotions with a code, orders with codes."""

from __future__ import annotations

from backroom.orders import service as orders
from backroom.promotions import service as promotions
from backroom.promotions.schemas import PromotionCreate
from tests.commerce_support import ACTOR, checkout_body
from tests.helpers import uniq


async def make_promotion(session, branch, *, submit=True, **terms):
    """A promotion owned by `branch` with a fresh shared code (unless code_mode says otherwise),
    submitted (live at once when low-risk)."""
    terms.setdefault("name", uniq("Promo "))
    terms.setdefault("kind", "percentage")
    if terms["kind"] == "percentage":
        terms.setdefault("percent_bp", 1000)
    terms.setdefault("usage_limit", 100)
    if terms.get("code_mode", "shared") == "shared":
        terms.setdefault("code", uniq("SAVE").upper())
    promo = await promotions.create_promotion(
        session, actor=ACTOR, data=PromotionCreate(**terms), branch_id=branch.id, currency="USD"
    )
    if submit:
        await promotions.submit(session, actor=ACTOR, promotion_id=promo.id)
    return promo


async def place_with(session, branch, items, *, codes=(), email=None, customer_id=None, channel="storefront"):
    body = checkout_body(email=email or f"{uniq('b')}@example.com")
    return await orders.place_order(
        session,
        actor=ACTOR,
        cart_id=None,
        branch_id=branch.id,
        items=items,
        body=body,
        idempotency_key=uniq("idem-"),
        fingerprint=orders.request_hash(0, body),
        currency="USD",
        customer_id=customer_id,
        codes=list(codes),
        channel=channel,
    )
