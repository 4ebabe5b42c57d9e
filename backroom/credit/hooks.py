"""Credit's plug-ins to the customer registries: a merged customer's credit account and holds
follow them, and the customer's timeline lists their ledger lines."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.credit.models import CreditAccount, CreditEntry, CreditHold
from backroom.customers.links import TimelineItem, register_link, register_merge_handler, register_timeline
from backroom.money import format_money

register_link("credit_holds", "customer_id")


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
            f"Credit {e.kind.replace('_', ' ')}: {format_money(e.amount_minor, e.currency)}",
            e.description or e.reference,
        )
        for e in rows.scalars()
    ]


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
