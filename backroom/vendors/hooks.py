"""Vendors' registrations on the order lifecycle (backroom/orders/events.py): each vendor's
share opens when the order is placed, is voided on cancellation, held on delivery (timer until
the return window has passed) and reduced by refunds. Each runs in the transaction of the
status change, once per event."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backroom.orders.events import OrderChange, on_order
from backroom.vendors import shares


@on_order("placed")
async def _open(session: AsyncSession, event: OrderChange) -> None:
    await shares.open_shares(session, actor=event.actor, order=event.order)


@on_order("cancelled", "payment_failed")
async def _void(session: AsyncSession, event: OrderChange) -> None:
    await shares.void_shares(session, actor=event.actor, order=event.order, key=event.key)


@on_order("delivered")
async def _hold(session: AsyncSession, event: OrderChange) -> None:
    await shares.hold_shares(session, actor=event.actor, order=event.order)


@on_order("refunded", "partially_refunded")
async def _refund(session: AsyncSession, event: OrderChange) -> None:
    await shares.refund_shares(session, actor=event.actor, order=event.order, key=event.key)
