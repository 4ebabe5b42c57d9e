"""The cash in a cashier's drawer: movements recorded on the cashier's open shift (credit
payments taken in cash, pay-ins, pay-outs), the expected cash at close and its variance, and
the shift report. Pay-outs above CASH_PAYOUT_APPROVAL_OVER_MINOR (per branch) are requested
and recorded by FourEyesWorkflow once a manager approves."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.auth.models import User
from backroom.branches.errors import NoOpenShift, ShiftAlreadyClosed
from backroom.branches.models import Branch, CashKind, CashMovement, Shift, ShiftStatus
from backroom.controls import service as controls
from backroom.controls import thresholds
from backroom.controls.models import GatedAction, GatedKind
from backroom.db.base import utcnow
from backroom.errors import InvalidInput, not_found
from backroom.money import format_money
from backroom.settings import Settings

# What a movement of each kind does to the drawer.
SIGN = {CashKind.CREDIT_PAYMENT: 1, CashKind.PAY_IN: 1, CashKind.PAY_OUT: -1}
LABEL = {CashKind.CREDIT_PAYMENT: "Credit payment", CashKind.PAY_IN: "Pay-in", CashKind.PAY_OUT: "Pay-out"}


async def open_shift_of(session: AsyncSession, user_id: int) -> Shift | None:
    """The user's open shift (one at most). Read-only."""
    return await session.scalar(
        select(Shift).where(Shift.user_id == user_id, Shift.status == ShiftStatus.OPEN)
    )


async def record(
    session: AsyncSession,
    *,
    actor: Actor,
    kind: CashKind,
    amount_minor: int,
    currency: str,
    reason: str,
    reference: str,
    shift: Shift | None = None,
) -> CashMovement:
    """Record cash into or out of the drawer of `shift` (default: the actor's open shift).
    `amount_minor` is positive; the kind gives the direction. Idempotent by `reference`."""
    if (
        done := await session.scalar(select(CashMovement).where(CashMovement.reference == reference))
    ) is not None:
        return done
    if amount_minor <= 0:
        raise InvalidInput("Enter an amount above zero.", field="amount")
    shift = shift or await open_shift_of(session, actor.user_id)
    if shift is not None:  # a close waits for this write, and this one for a close
        shift = await session.get(Shift, shift.id, with_for_update=True, populate_existing=True)
    if shift is None:
        raise NoOpenShift("Open your shift first: cash goes into the drawer of an open shift.")
    if shift.status != ShiftStatus.OPEN:
        raise ShiftAlreadyClosed(f"Shift #{shift.id} was closed; the cash was not recorded.")
    if currency.upper() != shift.currency:
        raise InvalidInput(f"The drawer holds {shift.currency}, not {currency}.", field="amount")
    move = CashMovement(
        shift_id=shift.id,
        branch_id=shift.branch_id,
        user_id=shift.user_id,
        kind=kind,
        amount_minor=SIGN[kind] * amount_minor,
        currency=shift.currency,
        reason=reason,
        reference=reference,
        at=utcnow(),
    )
    session.add(move)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=f"cash.{kind}",
        entity_type="shift",
        entity_id=shift.id,
        branch_id=shift.branch_id,
        after={
            "amount": format_money(move.amount_minor, move.currency),
            "reason": reason,
            "reference": reference,
        },
    )
    return move


async def pay(
    session: AsyncSession,
    *,
    actor: Actor,
    kind: CashKind,
    amount_minor: int,
    reason: str,
    reference: str,
    settings: Settings,
) -> CashMovement | GatedAction:
    """A pay-in, or a pay-out: at once up to the branch's threshold, above it requested for a
    manager's approval (FourEyesWorkflow records it on this shift once approved; the cash
    leaves the drawer only then). Idempotent by `reference` once recorded."""
    if kind == CashKind.CREDIT_PAYMENT:
        raise InvalidInput("Credit payments are taken on the customer's credit account.", field="kind")
    if not reason.strip():
        raise InvalidInput("Say what the cash is for.", field="reason")
    if amount_minor <= 0:
        raise InvalidInput("Enter an amount above zero.", field="amount")
    if (
        done := await session.scalar(select(CashMovement).where(CashMovement.reference == reference))
    ) is not None:
        return done
    shift = await open_shift_of(session, actor.user_id)
    if shift is None:
        raise NoOpenShift("Open your shift first: cash goes into the drawer of an open shift.")
    over = await thresholds.in_branch(session, settings, "cash_payout_approval_over_minor", shift.branch_id)
    if kind != CashKind.PAY_OUT or amount_minor <= over:
        return await record(
            session,
            actor=actor,
            kind=kind,
            amount_minor=amount_minor,
            currency=shift.currency,
            reason=reason,
            reference=reference,
            shift=shift,
        )
    return await controls.request(
        session,
        actor=actor,
        kind=GatedKind.cash_payout,
        branch_id=shift.branch_id,
        subject_type="shift",
        subject_id=str(shift.id),
        title=f"Pay-out of {format_money(amount_minor, shift.currency)} from {actor.name}'s drawer",
        reason=reason,
        payload={
            "shift_id": shift.id,
            "amount_minor": amount_minor,
            "reason": reason,
            "reference": reference,
        },
        amount_minor=amount_minor,
        currency=shift.currency,
        hours=settings.four_eyes_hours,
    )


async def apply_payout(session: AsyncSession, *, actor: Actor, payload: dict) -> CashMovement:
    """An approved pay-out: recorded on the shift it was asked from (refused if that shift has
    closed meanwhile: the cash stayed in the drawer). Idempotent by the request's reference."""
    shift = await session.get(Shift, payload["shift_id"])
    if shift is None:
        raise not_found("Shift", payload["shift_id"])
    return await record(
        session,
        actor=actor,
        kind=CashKind.PAY_OUT,
        amount_minor=payload["amount_minor"],
        currency=shift.currency,
        reason=payload["reason"],
        reference=payload["reference"],
        shift=shift,
    )


async def expected_cash(session: AsyncSession, shift: Shift) -> int:
    """The float plus every movement of the shift. Read-only."""
    moved = await session.scalar(
        select(func.coalesce(func.sum(CashMovement.amount_minor), 0)).where(CashMovement.shift_id == shift.id)
    )
    return shift.opening_float_minor + int(moved)


@dataclass(frozen=True)
class ShiftReport:
    shift: Shift
    branch: str
    cashier: str
    movements: list[CashMovement]
    totals: dict[str, int]  # by kind label, signed
    expected_minor: int
    counted_minor: int | None
    variance_minor: int | None  # counted minus expected: positive over, negative short


async def report(session: AsyncSession, shift_id: int) -> ShiftReport:
    """Everything a shift's report shows: its movements, totals by kind, expected cash and, once
    closed, the count and the variance. Read-only."""
    shift = await session.get(Shift, shift_id)
    if shift is None:
        raise not_found("Shift", shift_id)
    moves = list(
        await session.scalars(
            select(CashMovement).where(CashMovement.shift_id == shift.id).order_by(CashMovement.id)
        )
    )
    totals: dict[str, int] = {}
    for m in moves:
        totals[LABEL[CashKind(m.kind)]] = totals.get(LABEL[CashKind(m.kind)], 0) + m.amount_minor
    expected = shift.expected_cash_minor  # fixed at close
    if expected is None:
        expected = await expected_cash(session, shift)
    branch = await session.get(Branch, shift.branch_id)
    user = await session.get(User, shift.user_id)
    return ShiftReport(
        shift=shift,
        branch=branch.name if branch else "",
        cashier=user.full_name if user else "",
        movements=moves,
        totals=totals,
        expected_minor=expected,
        counted_minor=shift.closing_count_minor,
        variance_minor=shift.variance_minor,
    )
