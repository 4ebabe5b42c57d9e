"""Queries over orders and parcels that the screens need and that grew past a one-liner."""

from __future__ import annotations

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.branches.models import Branch
from backroom.catalog.models import Product
from backroom.orders.models import Order, OrderLine, OrderStatus, Parcel, ParcelStatus

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


async def parcel_lines(
    session: AsyncSession, parcel_ids: list[int], *, serial_tracked_only: bool = False
) -> dict[int, list[tuple[OrderLine, Product]]]:
    """What goes in each parcel: parcel id -> [(line, product)] in line order (only the
    serial-tracked ones if asked). Read-only."""
    if not parcel_ids:
        return {}
    stmt = (
        select(OrderLine, Product)
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.parcel_id.in_(parcel_ids))
        .order_by(OrderLine.id)
    )
    if serial_tracked_only:
        stmt = stmt.where(Product.serial_tracked.is_(True))
    out: dict[int, list[tuple[OrderLine, Product]]] = {}
    for line, product in await session.execute(stmt):
        out.setdefault(line.parcel_id, []).append((line, product))
    return out


async def branch_names(session: AsyncSession, ids) -> dict[int, str]:
    """Branch id -> name for these ids. Read-only."""
    ids = set(ids)
    if not ids:
        return {}
    return dict((await session.execute(select(Branch.id, Branch.name).where(Branch.id.in_(ids)))).all())
