"""Per-vendor parcel groups in OrderFulfillmentWorkflow on the time-skipping server (issue 13,
step 3): an order with the shop's and a vendor's lines completes once the warehouse has shipped
the shop's parcel and the vendor its own (through the same use case and Updates as the
warehouse, audited on the vendor user's behalf); a vendor that does not ship within
VENDOR_SHIP_DAYS raises one alert for staff, who then ship on its behalf."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select

from backroom.audit.models import AuditEvent
from backroom.notifications.models import Notification
from backroom.orders import control
from backroom.orders import service as orders
from backroom.orders.control import WarehouseStep
from backroom.orders.errors import OrderActionRefused, OrderNotFound
from backroom.orders.flow import order_workflow_id
from backroom.orders.models import Alert
from backroom.vendors.models import VendorShare
from tests.helpers import (
    adapters,
    client_for,
    create_user,
    make_app,
    make_shop,
    make_vendor,
    place,
    principal_of,
    uniq,
    vendor_product,
    vendor_user,
)
from worker.registry import Deps, build_worker
from workflows.orders import OrderFulfillmentWorkflow

TO_SHIP = (WarehouseStep.PICK, WarehouseStep.PACK, WarehouseStep.LABEL, WarehouseStep.SHIP)


async def _world(db):
    async with db.sessionmaker.begin() as s:
        a, _b, (own,) = await make_shop(s, stock=((3, 0),))
        vendor = await make_vendor(s, branch=a, name=uniq("Kiln & Co "))
        item = await vendor_product(s, vendor=vendor, branch=a)
        seller = await vendor_user(s, vendor=vendor, branch=a, full_name="Vera Seller")
        picker = await create_user(s, grants=[("warehouse", a.id)], full_name="Wendy Warehouse")
    order = await place(db, a, [(own.id, 1), (item.id, 2)])
    async with db.read_sessionmaker() as s:
        shop_parcel, vendor_parcel = await orders.parcels_of(s, order.id)
    assert (shop_parcel.vendor_id, vendor_parcel.vendor_id) == (None, vendor.id)
    return {
        "order": order,
        "vendor": vendor,
        "shop_parcel": shop_parcel,
        "vendor_parcel": vendor_parcel,
        "seller": await principal_of(db, seller),
        "picker": await principal_of(db, picker),
    }


async def _start(env, db, settings, order, task_queue):
    async with db.read_sessionmaker() as s:
        inp = await orders.start_input(s, order, settings)
    assert [p.vendor_id is not None for p in inp.parcels] == [False, True]
    return await env.client.start_workflow(
        OrderFulfillmentWorkflow.run, inp, id=order_workflow_id(order.id), task_queue=task_queue
    )


async def _wait(handle, check, tries=400):
    for _ in range(tries):
        st = await handle.query(OrderFulfillmentWorkflow.state)
        if check(st):
            return st
        await asyncio.sleep(0.05)
    raise AssertionError(f"the order stayed {st.status}: {st}")


@asynccontextmanager
async def _picking(env, db, settings, task_queue):
    """The world, a worker, the order's workflow waiting in "picking", and `press(p, parcel_id,
    *steps)`: the step buttons as `p` (the use case the warehouse and the vendor panel call)."""
    w = await _world(db)
    order_id = w["order"].id

    async def connect():
        return env.client

    async def press(p, parcel_id, *steps):
        for step in steps:
            async with db.read_sessionmaker() as s:  # the edge's READS_ONLY session
                await control.parcel_step(s, connect, p=p, order_id=order_id, parcel_id=parcel_id, step=step)

    deps = Deps(settings=settings, sessionmaker=db.sessionmaker, extra=adapters(settings))
    async with build_worker(env.client, deps, task_queue=task_queue):
        handle = await _start(env, db, settings, w["order"], task_queue)
        await _wait(handle, lambda st: st.status == "picking")
        yield w, handle, press


async def test_shop_and_vendor_parcels_each_shipped_then_the_order_completes(
    ts_env, sqlite_db, commerce_settings, task_queue, save_history
):
    db, settings = sqlite_db, commerce_settings
    async with _picking(ts_env, db, settings, task_queue) as (w, handle, press):
        order, shop_parcel, vendor_parcel = w["order"], w["shop_parcel"], w["vendor_parcel"]
        with pytest.raises(OrderNotFound):  # the shop's parcel is not the vendor's to touch
            await press(w["seller"], shop_parcel.id, WarehouseStep.PICK)
        await press(w["seller"], vendor_parcel.id, *TO_SHIP)
        with pytest.raises(OrderActionRefused):  # shipped already: the workflow refuses a repeat
            await press(w["seller"], vendor_parcel.id, WarehouseStep.SHIP)
        st = await handle.query(OrderFulfillmentWorkflow.state)
        assert st.status == "picking" and not st.captured_minor  # the shop's parcel still waits
        await press(w["picker"], shop_parcel.id, *TO_SHIP)
        st = await _wait(handle, lambda st: st.status == "shipped")
        assert st.captured_minor == order.total_minor
        for parcel in (shop_parcel, vendor_parcel):
            await press(w["picker"], parcel.id, WarehouseStep.DELIVERED)
        st = await _wait(handle, lambda st: st.status == "completed")
        assert st.alerts == []
        await save_history(handle, "order_vendor_parcel_shipped_by_vendor_running")
    async with db.read_sessionmaker() as s:
        parcels = {p.id: p for p in await orders.parcels_of(s, order.id)}
        steps = list(
            await s.scalars(
                select(AuditEvent)
                .where(AuditEvent.entity_type == "order", AuditEvent.entity_id == str(order.id))
                .where(AuditEvent.action.like("parcel.%"))
                .order_by(AuditEvent.id)
            )
        )
        share = await s.scalar(select(VendorShare).where(VendorShare.order_id == order.id))
    assert all(p.status == "delivered" and p.tracking_number for p in parcels.values())
    assert parcels[vendor_parcel.id].tracking_number != parcels[shop_parcel.id].tracking_number
    vendor_steps = [(e.action, e.actor_name) for e in steps if e.after.get("parcel_id") == vendor_parcel.id]
    seller = f"Vera Seller via {order_workflow_id(order.id)}"
    assert vendor_steps[:4] == [
        ("parcel.picked", seller),
        ("parcel.packed", seller),
        ("parcel.labelled", seller),
        ("parcel.shipped", seller),
    ]
    assert share.status == "held"  # the vendor's money: as before, held from delivery
    # The shopper: one shipment e-mail and the order page, each listing both parcels' tracking.
    numbers = [parcels[shop_parcel.id].tracking_number, parcels[vendor_parcel.id].tracking_number]
    async with db.read_sessionmaker() as s:
        shipped = await s.scalar(
            select(Notification.body).where(Notification.dedupe_key.startswith(f"order-{order.id}:shipped"))
        )
    assert all(n in shipped for n in numbers), shipped
    page = await client_for(make_app(db, settings)).get(f"/shop/orders/{order.token}")
    assert page.status_code == 200 and all(n in page.text for n in numbers)
    assert "Parcel 2" in page.text


async def test_a_vendor_that_does_not_ship_in_time_raises_one_alert_and_staff_ship_for_it(
    ts_env, sqlite_db, commerce_settings, task_queue
):
    db, settings = sqlite_db, commerce_settings
    settings.vendor_ship_days = 2
    async with _picking(ts_env, db, settings, task_queue) as (w, handle, press):
        order, shop_parcel, vendor_parcel = w["order"], w["shop_parcel"], w["vendor_parcel"]
        await press(w["picker"], shop_parcel.id, *TO_SHIP)
        await ts_env.sleep(timedelta(days=1))
        st = await handle.query(OrderFulfillmentWorkflow.state)
        assert st.alerts == [] and st.status == "picking"  # the vendor still has a day
        await ts_env.sleep(timedelta(days=1, hours=1))
        st = await _wait(handle, lambda st: "vendor_late" in st.alerts)
        assert "pick_timeout" not in st.alerts  # the shop's parcel was picked in time
        # Staff ship the vendor's parcel on its behalf (the warehouse's permissions).
        await press(w["picker"], vendor_parcel.id, *TO_SHIP)
        st = await _wait(handle, lambda st: st.status == "shipped")
        assert st.alerts == ["vendor_late"]
    async with db.read_sessionmaker() as s:
        alerts = list(await s.scalars(select(Alert).where(Alert.subject_id == str(order.id))))
        kinds = [e.kind for e in await orders.events_of(s, order.id)]
    assert [a.kind for a in alerts] == ["vendor_late"]
    assert w["vendor"].name in alerts[0].message and "within 2 days" in alerts[0].message
    assert kinds.count("alert_vendor_late") == 1
