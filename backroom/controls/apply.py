"""Applying an approved four-eyes action: each kind calls its domain's use case with the
arguments recorded at the request, on behalf of the approver. FourEyesWorkflow's activity
calls `settle`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.branches import cash
from backroom.catalog import service as catalog
from backroom.catalog.schemas import ProductUpdate
from backroom.controls.flow import FourEyesDecision
from backroom.controls.models import GatedAction, GatedKind, GatedStatus
from backroom.controls.service import get
from backroom.credit import service as credit
from backroom.credit.schemas import Adjustment
from backroom.customers import service as customers
from backroom.db.base import utcnow
from backroom.errors import AppError
from backroom.money import format_money

Applier = Callable[[AsyncSession, Actor, dict], Awaitable[str]]


async def _merge(session: AsyncSession, actor: Actor, p: dict) -> str:
    survivor = await customers.merge(
        session, actor=actor, loser_id=p["loser_id"], survivor_id=p["survivor_id"]
    )
    return f"Customer #{p['loser_id']} merged into #{survivor.id}."


async def _erase(session: AsyncSession, actor: Actor, p: dict) -> str:
    done = await customers.erase(session, actor=actor, customer_id=p["customer_id"], reason=p["reason"])
    note = (
        f" {done.plain_audit_events} audit event(s) written before audit encryption still hold it"
        " in plain text (the hash chain covers them)."
        if done.plain_audit_events
        else ""
    )
    return f"Personal data of customer #{p['customer_id']} erased.{note}"


async def _adjust(session: AsyncSession, actor: Actor, p: dict) -> str:
    entry = await credit.adjust(
        session, customer_id=p["customer_id"], data=Adjustment(**p["adjustment"]), actor=actor
    )
    return f"Posted {entry.kind} {entry.amount_minor} {entry.currency} ({entry.reference})."


async def _write_off(session: AsyncSession, actor: Actor, p: dict) -> str:
    level = await catalog.adjust_stock(
        session,
        actor=actor,
        product_id=p["product_id"],
        branch_id=p["branch_id"],
        delta=p["delta"],
        reason=p["reason"],
    )
    return f"Wrote off {-p['delta']} unit(s); {level.on_hand} on hand."


async def _price(session: AsyncSession, actor: Actor, p: dict) -> str:
    product = await catalog.update_product(
        session, actor=actor, product_id=p["product_id"], data=ProductUpdate(**p["update"])
    )
    return f"{product.sku} now costs {product.price_minor} {product.currency}."


async def _payout(session: AsyncSession, actor: Actor, p: dict) -> str:
    move = await cash.apply_payout(session, actor=actor, payload=p)
    return f"Paid out {format_money(-move.amount_minor, move.currency)} from shift #{move.shift_id}."


APPLIERS: dict[GatedKind, Applier] = {
    GatedKind.customer_merge: _merge,
    GatedKind.customer_erasure: _erase,
    GatedKind.credit_adjustment: _adjust,
    GatedKind.stock_writeoff: _write_off,
    GatedKind.price_change: _price,
    GatedKind.cash_payout: _payout,
}
_CLOSED = {"rejected": GatedStatus.rejected}


async def settle(session: AsyncSession, *, actor: Actor, decision: FourEyesDecision) -> str:
    """Apply an approved action once, or close a rejected/expired one. A refusal while applying
    (the customer was merged meanwhile, stock now reserved) leaves it `failed` with the reason.
    Idempotent: only a pending request changes."""
    row = await get(session, decision.action_id)
    claimed = await session.execute(
        update(GatedAction)
        .where(GatedAction.id == row.id, GatedAction.status == GatedStatus.pending)
        .values(status=GatedStatus.applied, updated_at=utcnow())
    )
    await session.refresh(row)
    if not claimed.rowcount:
        return row.status
    status, result = _CLOSED.get(decision.status, GatedStatus.expired), None
    if decision.status == "approved":
        try:
            async with session.begin_nested():  # a refusal undoes the attempt, not the record
                result, status = (
                    await APPLIERS[GatedKind(row.kind)](session, actor, row.payload),
                    GatedStatus.applied,
                )
        except AppError as exc:
            if exc.retryable:
                raise
            status, result = GatedStatus.failed, exc.detail
    row.status, row.result = status, (result or "")[:500] or None
    row.decided_by_id, row.decided_by_name = decision.decided_by_id, decision.decided_by_name
    row.decision_reason, row.decided_at = decision.reason, utcnow()
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=f"four_eyes.{status}.{row.kind}",
        entity_type=row.subject_type,
        entity_id=row.subject_id,
        branch_id=row.branch_id,
        before={"status": GatedStatus.pending},
        after={"status": status, "result": row.result, "decided_by_id": decision.decided_by_id},
    )
    return status
