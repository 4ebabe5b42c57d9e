"""Order lifecycle events: neighbouring domains react once per event, inside its transaction."""

import pytest

from backroom.errors import Conflict
from backroom.orders import events
from backroom.orders import service as orders
from tests.commerce_support import ACTOR, make_shop, place


@pytest.fixture
def seen():
    """A handler registered for the test only: records (order id, status, key)."""
    calls: list[tuple[int, str, str]] = []

    async def handler(session, change: events.OrderChange) -> None:
        if change.data.get("fail"):
            raise Conflict("refused by a neighbour")
        calls.append((change.order.id, change.status, change.key))

    entry = (frozenset({"placed", "delivered"}), handler)
    events._HANDLERS.append(entry)
    yield calls
    events._HANDLERS.remove(entry)


async def test_handlers_run_once_per_event_and_only_for_their_statuses(db, seen):
    async with db.sessionmaker.begin() as s:
        a, _, products = await make_shop(s)
    order = await place(db, a, [(products[0].id, 1)])
    assert seen == [(order.id, "placed", f"order-{order.id}:placed")]
    for _ in range(2):  # a retried activity repeats the same key
        async with db.sessionmaker.begin() as s:
            await orders.set_status(
                s, actor=ACTOR, order_id=order.id, status="delivered", message="Delivered.", key="k-delivered"
            )
    async with db.sessionmaker.begin() as s:
        await orders.set_status(
            s, actor=ACTOR, order_id=order.id, status="shipped", message="Shipped.", key="k-shipped"
        )
    assert [c[1] for c in seen] == ["placed", "delivered"]


async def test_a_refusing_handler_rolls_the_status_change_back(db, seen):
    async with db.sessionmaker.begin() as s:
        a, _, products = await make_shop(s)
    order = await place(db, a, [(products[0].id, 1)])
    with pytest.raises(Conflict):
        async with db.sessionmaker.begin() as s:
            await orders.set_status(
                s,
                actor=ACTOR,
                order_id=order.id,
                status="delivered",
                message="x",
                key="k-x",
                data={"fail": 1},
            )
    async with db.read_sessionmaker() as s:
        assert (await orders.get_order(s, order.id)).status == "placed"
