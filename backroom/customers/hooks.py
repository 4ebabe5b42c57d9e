"""Customers' own plug-ins to the customer registries: contacts and addresses follow a merged
customer, and the timeline lists the customer's audit events. Neighbours register theirs in
backroom/<domain>/hooks.py (found by links.load_plugins), so customers imports none of them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit.models import AuditEvent
from backroom.customers.links import TimelineItem, register_link, register_timeline

register_link("customer_contacts", "customer_id")
register_link("customer_addresses", "customer_id")


@register_timeline
async def _audit(session: AsyncSession, customer_id: int, limit: int) -> list[TimelineItem]:
    rows = await session.execute(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "customer", AuditEvent.entity_id == str(customer_id))
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return [TimelineItem(e.at, "audit", e.action, e.actor_name) for e in rows.scalars()]
