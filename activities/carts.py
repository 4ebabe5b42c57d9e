"""Cart activities: quote / price (prices, discounts and stock) and the DB projection."""

from __future__ import annotations

from temporalio import activity

from backroom.audit.context import Actor
from backroom.carts import service as carts
from backroom.carts.pricing import Totals
from backroom.carts.schemas import CartPricing, CartQuote, CartView
from backroom.db.session import point_reads


class CartActivities:
    def __init__(self, deps) -> None:
        self._sessionmaker = deps.sessionmaker
        self._reader = point_reads(self._sessionmaker)  # reads take no transaction at all

    @activity.defn(name="carts.quote")
    async def quote(self, q: CartQuote) -> Totals:
        """Price a cart at today's prices, checking stock (OutOfStock refuses). Read-only."""
        async with self._reader() as session:
            return await carts.quote(session, items=q.items, currency=q.currency)

    @activity.defn(name="carts.price")
    async def price(self, q: CartQuote) -> CartPricing:
        """Price a cart with its discount codes, checking stock: totals plus why each code that
        does not apply does not. Read-only."""
        async with self._reader() as session:
            return await carts.price_cart(session, q=q)

    @activity.defn(name="carts.project")
    async def project(self, view: CartView) -> bool:
        """Write the cart's state to the carts tables. Idempotent (versioned)."""
        actor = Actor.workflow(activity.info().workflow_id)
        async with self._sessionmaker.begin() as session:
            return await carts.project(session, actor=actor, view=view)


def build(deps) -> list:
    a = CartActivities(deps)
    return [a.quote, a.price, a.project]
