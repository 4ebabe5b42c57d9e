"""Warranty's plug-ins: registrations on delivery, extended warranties applied when their order
is paid (captured at shipping), the customer's timeline, and merges."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.catalog.models import Product
from backroom.customers.links import TimelineItem, register_link, register_timeline
from backroom.db.base import utcnow
from backroom.orders.events import OrderChange, on_order
from backroom.starts import service as starts
from backroom.warranty import service
from backroom.warranty.models import Warranty

register_link("warranties", "customer_id")


@on_order("delivered")
async def _register_delivered(session: AsyncSession, event: OrderChange) -> None:
    """One registration (and one warranty-{id} workflow, through the outbox) per delivered unit."""
    await service.register_delivered(session, actor=event.actor, order=event.order, at=utcnow())


@on_order("shipped")
async def _extend_paid(session: AsyncSession, event: OrderChange) -> None:
    """Payment is captured when the order ships: extended warranties sold with it now apply.
    Each extension goes to its registration's workflow (which writes it) through the outbox."""
    for w, change in await service.extensions_paid(session, order=event.order):
        await starts.enqueue_signal(session, workflow_id=w.workflow_id, signal="apply", arg=change)


@register_timeline
async def _warranties(session: AsyncSession, customer_id: int, limit: int) -> list[TimelineItem]:
    rows = await session.execute(
        select(Warranty, Product.name)
        .join(Product, Product.id == Warranty.product_id)
        .where(Warranty.customer_id == customer_id)
        .order_by(Warranty.purchased_at.desc())
        .limit(limit)
    )
    return [
        TimelineItem(
            w.purchased_at,
            "warranty",
            f"Warranty: {name}",
            f"{service.status_of(w)} until {w.expires_at:%Y-%m-%d}",
            f"/warranties/{w.id}",
        )
        for w, name in rows
    ]
