"""Who may see and act on which order: the branch rule (the order's or any of its parcels'
branches) and the vendor rule (a vendor user sees only orders with their lines, and acts only
on the parcels its vendor ships)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backroom.auth.principal import Principal
from backroom.errors import Forbidden
from backroom.orders import service as orders
from backroom.orders.errors import OrderNotFound
from backroom.orders.models import Order, Parcel


async def visible_order(
    session: AsyncSession, p: Principal, order_id: int, function: str, action: str
) -> Order:
    """The order if the caller may do (function, action) on it; another vendor's order is a 404,
    so its existence is not revealed. Read-only."""
    order = await orders.get_order(session, order_id)
    if p.vendor_id is not None:
        if not any(ln.vendor_id == p.vendor_id for ln in await orders.lines_of(session, order_id)):
            raise OrderNotFound(f"Order {order_id} does not exist.")
    branches = {order.branch_id} | {pc.branch_id for pc in await orders.parcels_of(session, order_id)}
    if not any(p.can(function, action, b) for b in branches):
        raise Forbidden(f"You may not {action} {function} for this order's branches.")
    return order


async def order_parcel(
    session: AsyncSession,
    p: Principal,
    order_id: int,
    parcel_id: int,
    function: str,
    action: str,
    *,
    missing: type[Exception] = OrderNotFound,
    own: bool = False,
) -> Parcel:
    """A parcel of the order, if the caller may do (function, action) in the parcel's branch. A
    vendor user only reaches parcels holding their own lines, and with `own` (acting on it) only
    the parcels its vendor ships; any other is `missing` (404). Read-only."""
    parcel = await session.get(Parcel, parcel_id)
    if parcel is None or parcel.order_id != order_id:
        raise missing(f"Parcel {parcel_id} is not part of order {order_id}.")
    if p.vendor_id is not None and (
        (own and parcel.vendor_id != p.vendor_id)
        or not any(
            ln.parcel_id == parcel.id and ln.vendor_id == p.vendor_id
            for ln in await orders.lines_of(session, order_id)
        )
    ):
        raise missing(f"Parcel {parcel_id} is not part of order {order_id}.")
    p.require(function, action, branch_id=parcel.branch_id)
    return parcel
