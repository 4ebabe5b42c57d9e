"""Orders plug into the customer registries: they follow a merge and show on the timeline."""

from backroom.customers import service
from backroom.orders.models import Order
from tests.commerce_support import checkout_body, make_shop
from tests.custops_helpers import create_customer
from tests.helpers import TEST_ACTOR, uniq


async def test_orders_follow_a_merged_customer_and_show_on_the_timeline(db):
    from backroom.orders import service as orders

    async with db.sessionmaker.begin() as s:
        a, _, products = await make_shop(s)
        keep = await create_customer(s, branch=a)
        lose = await create_customer(s, branch=a)
        body = checkout_body()
        order = await orders.place_order(
            s,
            actor=TEST_ACTOR,
            cart_id=None,
            branch_id=a.id,
            items=[(products[0].id, 1)],
            body=body,
            idempotency_key=uniq("idem-"),
            fingerprint=orders.request_hash(0, body),
            currency="USD",
            customer_id=lose.id,
        )
    async with db.read_sessionmaker() as s:
        items = await service.timeline(s, customer_id=lose.id)
        assert any(i.kind == "order" and i.link == f"/orders/{order.id}" for i in items)
    async with db.sessionmaker.begin() as s:
        await service.merge(s, actor=TEST_ACTOR, loser_id=lose.id, survivor_id=keep.id)
    async with db.read_sessionmaker() as s:
        assert (await s.get(Order, order.id)).customer_id == keep.id
        assert any(i.kind == "order" for i in await service.timeline(s, customer_id=keep.id))
