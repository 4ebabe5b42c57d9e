"""OrderFulfillmentWorkflow on the time-skipping server with a real localstripe and the local carrier."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from backroom.catalog.models import StockLevel
from backroom.orders import service as orders
from backroom.orders.flow import CancelAsk, ParcelAction, PaymentSignal, RefundAsk
from backroom.orders.models import Alert, PaymentEntry
from tests.commerce_support import CrashOnce, adapters, make_shop, place
from tests.helpers import uniq
from worker.registry import Deps, build_worker
from workflows.orders import OrderFulfillmentWorkflow

WH = dict(user_id=None, user_name="Wendy Warehouse")


async def start(env, db, settings, order, task_queue, *, auto=False):
    async with db.read_sessionmaker() as s:
        inp = await orders.start_input(s, order, settings, auto_fulfil=auto)
    return await env.client.start_workflow(OrderFulfillmentWorkflow.run, inp, id=f"order-{order.id}-{uniq()}",
                                           task_queue=task_queue)


def worker(env, db, settings, task_queue, extra=None):
    return build_worker(env.client, Deps(settings=settings, sessionmaker=db.sessionmaker,
                                         extra=extra or adapters(settings)), task_queue=task_queue)


async def wait_status(handle, *statuses, tries=200):
    for _ in range(tries):
        st = await handle.query(OrderFulfillmentWorkflow.state)
        if st.status in statuses:
            return st
        await asyncio.sleep(0.05)
    raise AssertionError(f"status stayed {st.status}, wanted {statuses}")


async def ledger(db, order_id):
    async with db.read_sessionmaker() as s:
        return [(e.kind, e.status, e.amount_minor) for e in await orders.payments_of(s, order_id)]


async def stock(db, product_id):
    async with db.read_sessionmaker() as s:
        rows = await s.scalars(select(StockLevel).where(StockLevel.product_id == product_id))
        return sum(r.on_hand for r in rows), sum(r.reserved for r in rows)


async def fulfil(handle, parcels):
    for p in parcels:
        for step in ("pick", "pack", "buy_label", "ship"):
            await handle.execute_update(step, ParcelAction(parcel_id=p.id, **WH))


async def test_happy_path_two_branches_two_parcels(ts_env, sqlite_db, commerce_settings, task_queue):
    db, settings = sqlite_db, commerce_settings
    async with db.sessionmaker.begin() as s:
        a, b, (p1, p2) = await make_shop(s, stock=((3, 0), (0, 4)), prices=(1500, 2500))
    order = await place(db, a, [(p1.id, 2), (p2.id, 1)])
    async with worker(ts_env, db, settings, task_queue):
        handle = await start(ts_env, db, settings, order, task_queue)
        st = await wait_status(handle, "picking")
        assert len(st.parcels) == 2 and {p.branch_id for p in st.parcels} == {a.id, b.id}
        await fulfil(handle, st.parcels)
        st = await wait_status(handle, "shipped")
        assert st.captured_minor == order.total_minor
        for p in st.parcels:
            await handle.execute_update("mark_delivered", ParcelAction(parcel_id=p.id, **WH))
        st = await wait_status(handle, "completed")
    assert await ledger(db, order.id) == [("authorization", "authorized", order.total_minor),
                                          ("capture", "succeeded", order.total_minor)]
    assert await stock(db, p1.id) == (1, 0) and await stock(db, p2.id) == (3, 0)
    async with db.read_sessionmaker() as s:
        parcels = await orders.parcels_of(s, order.id)
        kinds = [e.kind for e in await orders.events_of(s, order.id)]
    assert all(p.status == "delivered" and p.tracking_number and p.label_path for p in parcels)
    assert open(parcels[0].label_path, "rb").read(4) == b"%PDF"
    assert kinds[0] == "placed" and kinds[-1] == "completed" and "payment_authorized" in kinds
