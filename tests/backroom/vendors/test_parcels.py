"""Per-vendor parcel groups (issue 13, step 3): an order's lines ship in one parcel per (shipping
branch, vendor or the shop); a vendor user reaches only its own vendor's parcels (another's, the
shop's or one of another order is the same 404; staff are sent to the warehouse); a vendor that
missed its deadline raises one alert naming it, which the sweep shows staff until it ships."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backroom.alerts import sweep
from backroom.alerts.models import ExceptionAlert
from backroom.analytics import dashboard
from backroom.analytics.modules import MODULES
from backroom.catalog.models import StockLevel
from backroom.db.base import utcnow
from backroom.errors import Forbidden
from backroom.orders import control
from backroom.orders import parcels as parcels_steps
from backroom.orders import service as orders
from backroom.orders.access import order_parcel
from backroom.orders.control import WarehouseStep
from backroom.orders.errors import OrderNotFound
from backroom.orders.models import Alert
from backroom.vendors import parcels
from tests.helpers import (
    TEST_ACTOR,
    create_user,
    make_shop,
    make_vendor,
    place,
    principal_of,
    uniq,
    vendor_product,
    vendor_user,
)


async def _mixed(db, *, shop_stock=((3, 0),)):
    """Branch A sells the shop's own product and two vendors' products; one order with all."""
    async with db.sessionmaker.begin() as s:
        a, b, (own,) = await make_shop(s, stock=shop_stock, weight_g=500)
        va = await make_vendor(s, branch=a, name=uniq("Alpha "))
        vb = await make_vendor(s, branch=a, name=uniq("Bravo "))
        pa = await vendor_product(s, vendor=va, branch=a)
        pb = await vendor_product(s, vendor=vb, branch=a)
    order = await place(db, a, [(own.id, 1), (pa.id, 2), (pb.id, 1)])
    async with db.read_sessionmaker() as s:
        got = await orders.parcels_of(s, order.id)
        lines = await orders.lines_of(s, order.id)
    return {"a": a, "b": b, "va": va, "vb": vb, "own": own, "pa": pa, "pb": pb}, order, got, lines


async def test_one_parcel_per_branch_and_vendor_the_shop_own_lines_as_before(db):
    w, order, got, lines = await _mixed(db)
    assert [(p.branch_id, p.vendor_id) for p in got] == [
        (w["a"].id, None),  # the shop's own parcel first
        *sorted([(w["a"].id, w["va"].id), (w["a"].id, w["vb"].id)], key=lambda g: g[1]),
    ]
    parcel_of = {ln.product_id: ln.parcel_id for ln in lines}
    by_vendor = {p.vendor_id: p for p in got}
    assert parcel_of[w["own"].id] == by_vendor[None].id
    assert parcel_of[w["pa"].id] == by_vendor[w["va"].id].id
    assert parcel_of[w["pb"].id] == by_vendor[w["vb"].id].id
    # Weight and box per parcel from its own lines (vendor products weigh 400 g each).
    assert (by_vendor[None].weight_g, by_vendor[w["va"].id].weight_g, by_vendor[w["vb"].id].weight_g) == (
        500,
        800,
        400,
    )
    assert all(p.length_mm for p in got)
    assert order.branch_id == w["a"].id


async def test_shop_lines_from_two_branches_still_ship_apart(db):
    async with db.sessionmaker.begin() as s:
        a, b, (p1, p2) = await make_shop(s, stock=((3, 0), (0, 4)), prices=(1500, 2500))
        v = await make_vendor(s, branch=b)
        pv = await vendor_product(s, vendor=v, branch=b)
    order = await place(db, a, [(p1.id, 1), (p2.id, 1), (pv.id, 1)])
    async with db.read_sessionmaker() as s:
        got = await orders.parcels_of(s, order.id)
        events = await orders.events_of(s, order.id)
    assert [(p.branch_id, p.vendor_id) for p in got] == [(a.id, None), (b.id, None), (b.id, v.id)]
    assert "3 parcel(s)" in events[0].message
    # Branch B ships more (500 g of the shop's + 400 g of the vendor's): the order is B's.
    assert order.branch_id == b.id


async def test_a_vendor_user_reaches_only_its_own_parcels(db):
    w, order, got, _lines = await _mixed(db)
    by_vendor = {p.vendor_id: p for p in got}
    async with db.sessionmaker.begin() as s:
        alpha = await vendor_user(s, vendor=w["va"], branch=w["a"])
        manager = await create_user(s, grants=[("manager", w["a"].id)])
    other = await place(db, w["a"], [(w["pa"].id, 1)])
    pa, pm = await principal_of(db, alpha), await principal_of(db, manager)
    mine = by_vendor[w["va"].id]
    assert control.step_permission(pa, WarehouseStep.LABEL) == ("vendors", "submit")
    assert control.step_permission(pm, WarehouseStep.LABEL) == ("shipping", "create")
    with pytest.raises(OrderNotFound):  # "delivered" (the local carrier) is the shop's
        control.step_permission(pa, WarehouseStep.DELIVERED)
    async with db.read_sessionmaker() as s:
        (other_parcel,) = await orders.parcels_of(s, other.id)
        assert (await order_parcel(s, pa, order.id, mine.id, "vendors", "submit", own=True)).id == mine.id
        # Staff may act on a vendor's parcel (on its behalf) with the warehouse's permission.
        assert (await order_parcel(s, pm, order.id, mine.id, "orders", "submit", own=True)).id == mine.id
        for oid, pid in (
            (order.id, by_vendor[w["vb"].id].id),  # another vendor's parcel
            (order.id, by_vendor[None].id),  # the shop's parcel of the same order
            (order.id, other_parcel.id),  # its own vendor's parcel, but of another order
            (order.id, 9 * 10**17),  # none at all
        ):
            with pytest.raises(OrderNotFound) as refused:
                await order_parcel(s, pa, oid, pid, "vendors", "submit", own=True)
            assert refused.value.status == 404
            # The step use case refuses before it would reach the workflow (no Temporal here).
            with pytest.raises(OrderNotFound):
                await control.parcel_step(
                    s, _no_temporal, p=pa, order_id=oid, parcel_id=pid, step=WarehouseStep.PICK
                )
        with pytest.raises(Forbidden):  # a vendor user in a branch it holds no role in
            await control.parcel_step(
                s,
                _no_temporal,
                p=_elsewhere(pa),
                order_id=order.id,
                parcel_id=mine.id,
                step=WarehouseStep.PICK,
            )


def _elsewhere(p):
    from dataclasses import replace

    return replace(p, grants=tuple((role, -1) for role, _branch in p.grants))


async def _no_temporal():
    raise AssertionError("a refused step must not reach the workflow")


async def test_a_late_vendor_raises_one_alert_by_name_shown_until_it_ships(db):
    w, order, got, _lines = await _mixed(db)
    late = [p.id for p in got if p.vendor_id]
    key = uniq("order-late:")
    async with db.sessionmaker.begin() as s:
        for _ in range(2):  # a retried activity
            await parcels.raise_late(s, actor=TEST_ACTOR, order_id=order.id, parcel_ids=late, days=3, key=key)
        await orders.set_status(
            s, actor=TEST_ACTOR, order_id=order.id, status="picking", message="Picking", key=uniq()
        )
    async with db.read_sessionmaker() as s:
        alerts = list(await s.scalars(select(Alert).where(Alert.subject_id == str(order.id))))
        kinds = [e.kind for e in await orders.events_of(s, order.id)]
    assert len(alerts) == 1 and alerts[0].kind == "vendor_late"
    assert w["va"].name in alerts[0].message and w["vb"].name in alerts[0].message
    assert "within 3 days" in alerts[0].message
    assert kinds.count("alert_vendor_late") == 1
    wanted = f"order-{order.id}:vendor-late"

    async def swept():
        async with db.sessionmaker.begin() as s:
            await sweep.sweep(s, actor=TEST_ACTOR, now=utcnow())
        async with db.read_sessionmaker() as s:
            return await s.scalar(select(ExceptionAlert).where(ExceptionAlert.key == wanted))

    shown = await swept()
    assert shown.kind == "vendor_late" and shown.status == "open" and shown.branch_id == order.branch_id
    assert [i.title for i in await _pending(db, order.branch_id) if i.kind == "vendor_late"] == [
        f"Order #{order.id}: vendor has not shipped"
    ]
    async with db.sessionmaker.begin() as s:  # shipped (by the vendor, or staff on its behalf)
        await orders.set_status(
            s, actor=TEST_ACTOR, order_id=order.id, status="shipped", message="Shipped", key=uniq()
        )
    assert (await swept()).status == "resolved"
    assert [i for i in await _pending(db, order.branch_id) if i.kind == "vendor_late"] == []


async def _pending(db, branch_id):
    """The E-commerce dashboard's pending actions of a manager of the branch."""
    async with db.sessionmaker.begin() as s:
        manager = await create_user(s, grants=[("manager", branch_id)])
    p = await principal_of(db, manager)
    async with db.read_sessionmaker() as s:
        return await dashboard.queue(
            s,
            module=MODULES["commerce"],
            p=p,
            branch_ids=[branch_id],
            user_id=None,
            shift_ids=None,
            category=None,
            now=utcnow(),
        )


async def test_shipping_a_vendor_parcel_takes_out_only_its_own_units(db):
    w, order, got, _lines = await _mixed(db)
    by_vendor = {p.vendor_id: p for p in got}
    async with db.sessionmaker.begin() as s:
        for parcel in got:  # every parcel ready to leave (steps before shipping: elsewhere)
            await orders.update_parcel(
                s, actor=TEST_ACTOR, parcel_id=parcel.id, to="labelled", allowed_from=("pending",)
            )
        await parcels_steps.record_step(
            s, actor=TEST_ACTOR, order_id=order.id, parcel_id=by_vendor[w["va"].id].id, step="shipped"
        )
    assert await _stock(db, w["pa"].id) == (8, 0)  # 10 on hand, 2 sold: gone
    assert await _stock(db, w["own"].id) == (3, 1)  # the shop's unit still waits in the branch
    assert await _stock(db, w["pb"].id) == (10, 1)  # and the other vendor's
    async with db.sessionmaker.begin() as s:
        await parcels_steps.record_step(
            s, actor=TEST_ACTOR, order_id=order.id, parcel_id=by_vendor[None].id, step="shipped"
        )
    assert await _stock(db, w["own"].id) == (2, 0) and await _stock(db, w["pb"].id) == (10, 1)


async def _stock(db, product_id):
    async with db.read_sessionmaker() as s:
        rows = list(await s.scalars(select(StockLevel).where(StockLevel.product_id == product_id)))
    return sum(r.on_hand for r in rows), sum(r.reserved for r in rows)
