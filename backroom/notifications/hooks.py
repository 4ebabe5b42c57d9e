"""Notifications' plug-ins to the customer registries: messages follow a merged customer, and
an erased customer's unsent messages are cancelled (they would still carry the address)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit.context import Actor
from backroom.customers.links import register_erase_handler, register_link
from backroom.notifications.models import Notification

register_link("notifications", "to_customer_id")


@register_erase_handler
async def _cancel_unsent(session: AsyncSession, *, actor: Actor, customer_id: int) -> None:
    await session.execute(
        update(Notification)
        .where(Notification.to_customer_id == customer_id, Notification.status == "pending")
        .values(status="failed", last_error="customer erased", to_address=None)
    )
