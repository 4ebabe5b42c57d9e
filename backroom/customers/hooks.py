"""This team's own plug-ins to the customer registries: timeline providers for interactions,
follow-ups, complaints, credit and audit events, and the credit account merge handler."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.audit.models import AuditEvent
from backroom.complaints.models import Complaint
from backroom.credit.models import CreditAccount, CreditEntry
from backroom.crm.models import FollowUpTask, Interaction
from backroom.customers.links import TimelineItem, register_merge_handler, register_timeline
from backroom.money import format_money


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
        TimelineItem(
            t.created_at, "task", f"Follow-up: {t.title}", f"due {t.due_at:%Y-%m-%d %H:%M} UTC · {t.status}"
        )
        for t in rows.scalars()
    ]


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
            c.status,
            f"/complaints/{c.id}",
        )
        for c in rows.scalars()
    ]


@register_timeline
async def _credit(session: AsyncSession, customer_id: int, limit: int) -> list[TimelineItem]:
    rows = await session.execute(
        select(CreditEntry)
        .where(CreditEntry.customer_id == customer_id)
        .order_by(CreditEntry.occurred_at.desc())
        .limit(limit)
    )
    return [
        TimelineItem(
            e.occurred_at,
            "credit",
            f"Credit {e.kind}: {format_money(e.amount_minor, e.currency)}",
            e.description or e.reference,
        )
        for e in rows.scalars()
    ]


@register_timeline
async def _audit(session: AsyncSession, customer_id: int, limit: int) -> list[TimelineItem]:
    rows = await session.execute(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "customer", AuditEvent.entity_id == str(customer_id))
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return [TimelineItem(e.at, "audit", e.action, e.actor_name) for e in rows.scalars()]


@register_merge_handler
async def _merge_credit(session: AsyncSession, *, actor: Actor, loser_id: int, survivor_id: int) -> None:
    """One account per customer: hand the loser's account over, or fold its ledger into the
    survivor's (balance moves with the lines, so sum(entries) == balance still holds)."""
    lose = await session.scalar(select(CreditAccount).where(CreditAccount.customer_id == loser_id))
    if lose is None:
        return
    keep = await session.scalar(select(CreditAccount).where(CreditAccount.customer_id == survivor_id))
    if keep is None:
        lose.customer_id = survivor_id
        await session.execute(
            update(CreditEntry).where(CreditEntry.account_id == lose.id).values(customer_id=survivor_id)
        )
        await session.flush()
        return
    before = audit.snapshot(keep)
    await session.execute(
        update(CreditEntry)
        .where(CreditEntry.account_id == lose.id)
        .values(account_id=keep.id, customer_id=survivor_id)
    )
    from backroom.credit.models import CreditHold

    await session.execute(
        update(CreditHold).where(CreditHold.account_id == lose.id).values(account_id=keep.id)
    )
    keep.balance_minor += lose.balance_minor
    lose.balance_minor = 0
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="credit_account.merge",
        entity_type="credit_account",
        entity_id=keep.id,
        branch_id=keep.branch_id,
        before=before,
        after={**audit.snapshot(keep), "merged_account_id": lose.id},
    )
