"""The demo marketplace: two approved vendors listed in the shop, the demo vendor user bound to
one of them, an application and a listing waiting, a payout held for finance. Idempotent."""

from __future__ import annotations

from sqlalchemy import func, select

from backroom.auth.models import User
from backroom.catalog.models import Product
from backroom.orders.models import Order, Parcel
from backroom.seed import seed_demo
from backroom.starts.models import WorkflowStart
from backroom.vendors.models import Payout, ProductChange, Vendor


async def test_demo_marketplace(fresh_db):
    for _ in range(2):
        async with fresh_db.sessionmaker.begin() as s:
            await seed_demo(s)
    async with fresh_db.read_sessionmaker() as s:
        by_status = dict((await s.execute(select(Vendor.status, func.count()).group_by(Vendor.status))).all())
        assert by_status == {"approved": 2, "applied": 1}
        harbor = await s.scalar(select(Vendor).where(Vendor.name == "Harbor Ceramics"))
        assert (await s.scalar(select(User).where(User.username == "vendor"))).vendor_id == harbor.id
        listed = await s.scalar(
            select(func.count()).where(Product.vendor_id.is_not(None), Product.status == "active")
        )
        assert listed == 4
        assert await s.scalar(select(func.count()).where(ProductChange.status == "pending")) == 1
        held = (await s.scalars(select(Payout))).all()
        assert [(x.status, x.amount_minor) for x in held] == [("pending_approval", 180_000)]
        # One order with a parcel of the shop's and one of Harbor Ceramics, its workflow queued.
        order = await s.scalar(select(Order).where(Order.idempotency_key == "demo-vendor-parcel-order"))
        parcels = (
            await s.scalars(select(Parcel).where(Parcel.order_id == order.id).order_by(Parcel.id))
        ).all()
        assert [(p.vendor_id, p.status) for p in parcels] == [(None, "pending"), (harbor.id, "pending")]
        assert (
            await s.scalar(select(func.count()).where(WorkflowStart.workflow_id == f"order-{order.id}")) == 1
        )
