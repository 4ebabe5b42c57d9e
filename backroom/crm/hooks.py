"""CRM's plug-ins to the customer registries: interactions and follow-ups follow a merged
customer, appear on the customer's timeline, and lose their text when the customer is erased
(notes of conversations with the person; when and how they happened stays)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.crm.models import FollowUpTask, Interaction
from backroom.customers.links import TimelineItem, register_erase_handler, register_link, register_timeline
from backroom.text import words

register_link("interactions", "customer_id")
register_link("followup_tasks", "customer_id")


@register_erase_handler
async def _erase_notes(session: AsyncSession, *, customer_id: int, **_) -> None:
    await session.execute(
        update(Interaction)
        .where(Interaction.customer_id == customer_id)
        .values(subject="(erased)", body=None, outcome=None)
    )
    await session.execute(
        update(FollowUpTask)
        .where(FollowUpTask.customer_id == customer_id)
        .values(title="Follow-up", notes=None)
    )


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
