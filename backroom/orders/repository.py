"""Queries over orders and parcels that the screens need and that grew past a one-liner."""

from __future__ import annotations

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.orders.models import Order, OrderStatus, Parcel, ParcelStatus

# Orders the warehouse still works on, and the parcels in them not yet finished.
WAREHOUSE_ORDERS = (
    OrderStatus.PICKING,
    OrderStatus.PACKED,
    OrderStatus.LABEL_PURCHASED,
    OrderStatus.SHIPPED,
    OrderStatus.PARTIALLY_REFUNDED,
)
WAREHOUSE_PARCELS = (
    ParcelStatus.PENDING,
    ParcelStatus.PICKED,
    ParcelStatus.PACKED,
    ParcelStatus.LABELLED,
    ParcelStatus.SHIPPED,
)


async def warehouse_queue(
    session: AsyncSession, *, branch_ids: set[int] | None, limit: int = 200
) -> list[Row[tuple[Parcel, Order]]]:
    """(parcel, order) pairs still to handle in these branches (None: all), oldest order first. Read-only."""
    stmt = (
        select(Parcel, Order)
        .join(Order, Order.id == Parcel.order_id)
        .where(Order.status.in_(WAREHOUSE_ORDERS), Parcel.status.in_(WAREHOUSE_PARCELS))
        .order_by(Order.placed_at, Parcel.id)
        .limit(limit)
    )
    if branch_ids is not None:
        stmt = stmt.where(Parcel.branch_id.in_(branch_ids or {-1}))
    return list((await session.execute(stmt)).all())
