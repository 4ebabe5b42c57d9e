"""CRM's plug-ins to the customer registries: interactions and follow-ups follow a merged
customer and appear on the customer's timeline."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.crm.models import FollowUpTask, Interaction
from backroom.customers.links import TimelineItem, register_link, register_timeline
from backroom.text import words

register_link("interactions", "customer_id")
register_link("followup_tasks", "customer_id")


@register_timeline
async def _interactions(session: AsyncSession, customer_id: int, limit: int) -> list[TimelineItem]:
    rows = await session.execute(
        select(Interaction)
        .where(Interaction.customer_id == customer_id)
        .order_by(Interaction.occurred_at.desc())
        .limit(limit)
    )
    return [
        TimelineItem(
            i.occurred_at,
            "interaction",
            f"{i.channel.title()} ({i.direction})" + (f": {i.subject}" if i.subject else ""),
            i.outcome or i.body,
        )
        for i in rows.scalars()
    ]


@register_timeline
async def _tasks(session: AsyncSession, customer_id: int, limit: int) -> list[TimelineItem]:
    rows = await session.execute(
        select(FollowUpTask)
        .where(FollowUpTask.customer_id == customer_id)
        .order_by(FollowUpTask.created_at.desc())
        .limit(limit)
    )
    return [
        TimelineItem(t.created_at, "task", f"Follow-up: {t.title}", words(t.status), due=t.due_at)
        for t in rows.scalars()
    ]
