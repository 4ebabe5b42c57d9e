"""Concurrent writers on PostgreSQL: checkouts reserving stock while parcels ship from the same
stock row must neither deadlock nor oversell."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from backroom.catalog import service as catalog
from backroom.catalog.models import StockLevel
from backroom.orders import service as orders
from tests.helpers import TEST_ACTOR, checkout_body, make_shop, place, uniq


async def test_reserving_and_shipping_together_never_deadlock(pg_db):
    db = pg_db
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((30, 0),))
    shipped = [await place(db, a, [(p1.id, 1)]) for _ in range(10)]

    async def ship(order):
        async with db.sessionmaker.begin() as s:
            parcel = (await orders.parcels_of(s, order.id))[0]
            # The activity's order: parcel row, audit, then the stock row.
            await orders.update_parcel(
                s, actor=TEST_ACTOR, parcel_id=parcel.id, to="shipped", allowed_from=("pending",)
            )
            await catalog.ship_reserved(s, actor=TEST_ACTOR, order_id=order.id, branch_id=a.id)

    async def buy():
        body = checkout_body()
        async with db.sessionmaker.begin() as s:
            await orders.place_order(
                s,
                actor=TEST_ACTOR,
                cart_id=None,
                branch_id=a.id,
                items=[(p1.id, 1)],
                body=body,
                idempotency_key=uniq("k-"),
                fingerprint="x",
                currency="USD",
            )

    await asyncio.wait_for(
        asyncio.gather(
            *[f for pair in zip(map(ship, shipped), (buy() for _ in shipped), strict=False) for f in pair]
        ),
        timeout=60,
    )
    async with db.read_sessionmaker() as s:
        level = await s.scalar(select(StockLevel).where(StockLevel.product_id == p1.id))
    assert (level.on_hand, level.reserved) == (20, 10)


async def test_an_order_locked_twice_in_a_transaction_is_read_once(pg_db):
    """A payment record and its status change both lock the order: the second lock in the same
    transaction reads nothing (the row is held); a savepoint and the next transaction lock again."""
    from sqlalchemy import event

    db = pg_db
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((3, 0),))
    order = await place(db, a, [(p1.id, 1)])
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        if "FROM orders" in statement:
            seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with db.sessionmaker.begin() as s:
            first = await orders.get_order(s, order.id, lock=True)
            again = await orders.get_order(s, order.id, lock=True)
            assert again is first and len(seen) == 1 and "FOR UPDATE" in seen[0]
            async with s.begin_nested():
                await orders.get_order(s, order.id, lock=True)
            assert len(seen) == 2
        async with db.sessionmaker.begin() as s:
            await orders.get_order(s, order.id, lock=True)
        assert len(seen) == 3
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
