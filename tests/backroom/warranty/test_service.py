"""Warranty registrations: from delivery (one per unit, once), by hand (refusals), extensions
from a paid order, status and month arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from backroom.db.base import utcnow
from backroom.errors import AppError
from backroom.orders import service as orders
from backroom.starts.models import WorkflowSignal, WorkflowStart
from backroom.warranty import service as warranty
from backroom.warranty.models import Warranty
from backroom.warranty.schemas import WarrantyCreate
from tests.helpers import (
    TEST_ACTOR,
    create_branch,
    create_customer,
    place,
    registered,
    uniq,
    warranted_product,
)


def test_add_months_clamps_to_the_month_end():
    assert warranty.add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert warranty.add_months(datetime(2026, 11, 15, tzinfo=UTC), 14) == datetime(2028, 1, 15, tzinfo=UTC)


async def test_status_active_expiring_expired(db):
    async with db.sessionmaker.begin() as s:
        *_, w = await registered(s, left=timedelta(days=40))
        now = utcnow()
        assert warranty.status_of(w, now) == "active"
        assert warranty.status_of(w, now + timedelta(days=15)) == "expiring"
        assert warranty.status_of(w, now + timedelta(days=41)) == "expired"


async def test_delivery_registers_one_warranty_per_unit_once(db):
    async with db.sessionmaker.begin() as s:
        branch = await create_branch(s)
        customer = await create_customer(s, branch=branch)
        drill = await warranted_product(s, months=24, stock_branch=branch, stock=5)
        plain = await warranted_product(s, months=0, stock_branch=branch, stock=5)
    order = await place(db, branch, [(drill.id, 2), (plain.id, 1)])
    async with db.sessionmaker.begin() as s:
        o = await orders.get_order(s, order.id)
        o.customer_id = customer.id
        await orders.set_status(s, actor=TEST_ACTOR, order_id=o.id, status="delivered", message="x", key="k1")
        # A second delivered event (another key) registers nothing more.
        await warranty.register_delivered(s, actor=TEST_ACTOR, order=o, at=utcnow())
    async with db.read_sessionmaker() as s:
        rows = list(await s.scalars(select(Warranty).where(Warranty.order_id == order.id)))
        starts = list(
            await s.scalars(
                select(WorkflowStart).where(WorkflowStart.workflow_id.in_([w.workflow_id for w in rows]))
            )
        )
    assert sorted(w.unit_no for w in rows) == [1, 2]
    assert {w.product_id for w in rows} == {drill.id} and {w.customer_id for w in rows} == {customer.id}
    assert all(w.months == 24 and w.expires_at > utcnow() + timedelta(days=700) for w in rows)
    assert sorted(st.workflow_type for st in starts) == ["WarrantyWorkflow", "WarrantyWorkflow"]


async def test_extended_warranty_paid_signals_the_registration(db):
    async with db.sessionmaker.begin() as s:
        branch, customer, _p, w = await registered(s, left=timedelta(days=20))
        ext = await warranted_product(s, months=12, price=4900, kind="extended_warranty")
        await warranty_stock(s, ext, branch)
    order = await place(db, branch, [(ext.id, 1)])
    async with db.sessionmaker.begin() as s:
        o = await orders.get_order(s, order.id)
        o.customer_id = customer.id
        await orders.set_status(s, actor=TEST_ACTOR, order_id=o.id, status="shipped", message="x", key="k2")
    async with db.read_sessionmaker() as s:
        sig = await s.scalar(select(WorkflowSignal).where(WorkflowSignal.workflow_id == w.workflow_id))
        # An extended warranty is not itself registered on delivery.
        assert await warranty.register_delivered(s, actor=TEST_ACTOR, order=o, at=utcnow()) == 0
    assert sig.signal == "apply" and sig.args["kind"] == "extend" and sig.args["months"] == 12


async def warranty_stock(s, product, branch):
    from backroom.catalog import service as catalog

    await catalog.adjust_stock(
        s, actor=TEST_ACTOR, product_id=product.id, branch_id=branch.id, delta=3, reason="t"
    )


async def test_manual_registration_refusals(db):
    # Serials are unique across the database the tests share: each run takes its own.
    sn1, sn2, sn3 = (uniq("SN-") for _ in range(3))
    async with db.sessionmaker.begin() as s:
        _branch, customer, product, w = await registered(s, left=timedelta(days=100), serial=sn1)
        plain = await warranted_product(s, months=0)
        cases = [
            (plain.id, sn2, utcnow(), "has no warranty period"),
            (product.id, sn1, utcnow(), "already registered"),
            (product.id, sn3, utcnow() + timedelta(days=2), "cannot be in the future"),
        ]
        for product_id, serial, at, message in cases:
            with pytest.raises(AppError, match=message):
                await warranty.register_manual(
                    s,
                    actor=TEST_ACTOR,
                    data=WarrantyCreate(
                        customer_id=customer.id, product_id=product_id, serial=serial, purchased_at=at
                    ),
                )
        found = await warranty.lookup(s, branch_ids=None, serial=sn1)
        assert [(x.id, pname, cname) for x, pname, cname in found] == [(w.id, product.name, customer.name)]
        assert (await warranty.covering(s, product_id=product.id, at=utcnow(), serial=sn1)).id == w.id
        assert (
            await warranty.covering(s, product_id=product.id, at=utcnow() + timedelta(days=101), serial=sn1)
            is None
        )


def test_a_typed_date_without_zone_is_read_as_utc():
    data = WarrantyCreate(customer_id=1, product_id=2, purchased_at="2026-11-01")
    assert data.purchased_at == datetime(2026, 11, 1, tzinfo=UTC)
