"""Complaints' plug-ins to the customer registries: complaints follow a merged customer and
appear on the customer's timeline."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.complaints.models import Complaint
from backroom.customers.links import TimelineItem, register_link, register_timeline
from backroom.text import words

register_link("complaints", "customer_id")


@register_timeline
async def _complaints(session: AsyncSession, customer_id: int, limit: int) -> list[TimelineItem]:
    rows = await session.execute(
        select(Complaint)
        .where(Complaint.customer_id == customer_id)
        .order_by(Complaint.created_at.desc())
        .limit(limit)
    )
    return [
        TimelineItem(
            c.created_at,
            "complaint",
            f"Complaint #{c.id}: {c.category} ({c.severity})",
            words(c.status),
            f"/complaints/{c.id}",
        )
        for c in rows.scalars()
    ]
