"""The packing step records serial numbers in the same transaction as the step: a serial that
became taken after the edge checked it refuses the step (a business refusal, nothing
written); packing without serials (automatic fulfilment) records none."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backroom.errors import InvalidInput
from backroom.orders import parcels
from backroom.orders.models import OrderLine, Parcel, UnitSerial
from tests.helpers import TEST_ACTOR, create_branch, place, warranted_product


async def _picked(db, product, branch, qty=1):
    order = await place(db, branch, [(product.id, qty)])
    async with db.sessionmaker.begin() as s:
        line = await s.scalar(select(OrderLine).where(OrderLine.order_id == order.id))
        await parcels.record_step(
            s, actor=TEST_ACTOR, order_id=order.id, parcel_id=line.parcel_id, step="picked"
        )
    return order.id, line


async def test_a_serial_taken_meanwhile_refuses_the_packing_step(db):
    async with db.sessionmaker.begin() as s:
        branch = await create_branch(s)
        product = await warranted_product(s, months=12, stock_branch=branch, stock=5)
        product.serial_tracked = True
    first, line1 = await _picked(db, product, branch)
    second, line2 = await _picked(db, product, branch)
    async with db.sessionmaker.begin() as s:
        await parcels.record_step(
            s,
            actor=TEST_ACTOR,
            order_id=first,
            parcel_id=line1.parcel_id,
            step="packed",
            serials={line1.id: ["X-9"]},
        )
    with pytest.raises(InvalidInput, match=f"X-9 of {product.name} is already packed with order #{first}"):
        async with db.sessionmaker.begin() as s:
            await parcels.record_step(
                s,
                actor=TEST_ACTOR,
                order_id=second,
                parcel_id=line2.parcel_id,
                step="packed",
                serials={line2.id: ["X-9"]},
            )
    async with db.sessionmaker.begin() as s:
        assert (await s.get(Parcel, line2.parcel_id)).status == "picked"  # nothing was written
        # Automatic fulfilment packs without serials: the step happens, no serial is recorded.
        await parcels.record_step(
            s, actor=TEST_ACTOR, order_id=second, parcel_id=line2.parcel_id, step="packed"
        )
        serials = list(await s.scalars(select(UnitSerial.serial).where(UnitSerial.product_id == product.id)))
    assert serials == ["X-9"]
