"""Loyalty's registrations: order lifecycle handlers (earn, give back, claw back), the credit
sale handler, the checkout discount source (points as the second source, after coupons), the
customer timeline and merges. Each handler runs in the transaction of the change it reacts
to, once per event."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit.context import Actor
from backroom.carts.discounts import Basket, Offer, discount_source
from backroom.carts.pricing import AppliedDiscount, DiscountLine
from backroom.credit.events import on_credit_sale
from backroom.credit.models import CreditEntry
from backroom.customers.links import TimelineItem, register_merge_handler, register_timeline
from backroom.db.base import utcnow
from backroom.loyalty import service
from backroom.loyalty.flow import EARN_LATER_WORKFLOW, EarnLaterInput, earn_later_workflow_id
from backroom.loyalty.models import EarnMoment, LoyaltyEntry, LoyaltyMember
from backroom.orders.events import OrderChange, on_order
from backroom.starts import service as starts

LABELS = {
    "earn": "Points earned",
    "redeem": "Points redeemed",
    "expire": "Points expired",
    "reverse": "Points reversed",
    "adjust": "Points adjusted",
}


@discount_source("loyalty", order=20)
async def _points(session: AsyncSession, basket: Basket, earlier: list[DiscountLine]) -> Offer:
    return await service.offer(session, basket, earlier)


@on_order("placed")
async def _redeem(session: AsyncSession, event: OrderChange) -> None:
    applied = [AppliedDiscount.model_validate(d) for d in event.data.get("discounts", ())]
    amount = sum(a.amount_minor for a in applied if a.source == "loyalty")
    await service.redeem_for_order(session, actor=event.actor, order=event.order, amount_minor=amount)


@on_order("delivered")
async def _earn(session: AsyncSession, event: OrderChange) -> None:
    order = event.order
    if order.customer_id is None:
        return
    member = await service.member_for_purchase(session, actor=event.actor, customer_id=order.customer_id)
    if member is None:
        return
    program = await service.get_program(session, member.program_id)
    if program.earn_on == EarnMoment.delivered:
        await service.earn_for_order(session, actor=event.actor, order=order)
        return
    earn_at = utcnow() + timedelta(days=program.return_window_days)
    await starts.enqueue(
        session,
        run=EARN_LATER_WORKFLOW,
        arg=EarnLaterInput(
            order_id=order.id, customer_id=order.customer_id, branch_id=order.branch_id, earn_at=earn_at
        ),
        workflow_id=earn_later_workflow_id(order.id),
        branch_id=order.branch_id,
        customer_id=order.customer_id,
        order_id=order.id,
    )


@on_order("cancelled", "payment_failed")
async def _give_back(session: AsyncSession, event: OrderChange) -> None:
    await service.give_back_order(session, actor=event.actor, order=event.order)


@on_order("refunded", "partially_refunded")
async def _claw_back(session: AsyncSession, event: OrderChange) -> None:
    # "refunded" is the whole order (workflows/orders.py); a partial refund takes back the
    # points in proportion to the money refunded so far.
    await service.claw_back_order(
        session, actor=event.actor, order=event.order, full=event.status == "refunded"
    )


@on_credit_sale
async def _earn_on_credit(session: AsyncSession, entry: CreditEntry, actor: Actor) -> None:
    await service.earn(
        session,
        actor=actor,
        customer_id=entry.customer_id,
        spend_minor=entry.amount_minor,
        source_type="credit_sale",
        source_id=str(entry.id),
        branch_id=entry.branch_id,
    )


@register_timeline
async def _ledger(session: AsyncSession, customer_id: int, limit: int) -> list[TimelineItem]:
    rows = await session.scalars(
        select(LoyaltyEntry)
        .join(LoyaltyMember, LoyaltyMember.id == LoyaltyEntry.member_id)
        .where(LoyaltyMember.customer_id == customer_id, LoyaltyEntry.points != 0)
        .order_by(LoyaltyEntry.id.desc())
        .limit(limit)
    )
    return [
        TimelineItem(e.at, "loyalty", f"{LABELS.get(e.kind, e.kind)}: {e.points:+d}", e.reason, None)
        for e in rows
    ]


@register_merge_handler
async def _merge(session: AsyncSession, *, actor: Actor, loser_id: int, survivor_id: int) -> None:
    """The survivor keeps one membership per program: the loser's ledger (and debt) folds in."""
    losers = (await session.scalars(select(LoyaltyMember).where(LoyaltyMember.customer_id == loser_id))).all()
    for lost in losers:
        kept = await session.scalar(
            select(LoyaltyMember).where(
                LoyaltyMember.program_id == lost.program_id, LoyaltyMember.customer_id == survivor_id
            )
        )
        if kept is None:
            lost.customer_id = survivor_id
            continue
        await session.execute(
            update(LoyaltyEntry)
            .where(LoyaltyEntry.member_id == lost.id)
            .values(member_id=kept.id)
            .execution_options(synchronize_session=False)
        )
        kept.debt_points += lost.debt_points
        await session.flush()
        await session.delete(lost)
    await session.flush()
