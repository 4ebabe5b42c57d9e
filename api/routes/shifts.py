"""Cashier shifts: open and close your own shift at a branch, record pay-ins and pay-outs
in its drawer, read a shift's report (expected cash, count, variance).

Permission ("payments", "create"): a shift is cash handling, so whoever may take payments
at a branch may open a shift there. Reading another cashier's shift report takes
("payments", "approve") in its branch (managers, finance)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import Session, SettingsDep, require
from api.params import Id
from backroom.auth.principal import Principal
from backroom.branches import cash
from backroom.branches import service as branches
from backroom.branches.models import CashKind, CashMovement, Shift
from backroom.branches.schemas import (
    CashIn,
    CashMovementRead,
    ShiftClose,
    ShiftOpen,
    ShiftRead,
    ShiftReportRead,
)
from backroom.controls.schemas import GatedActionRead
from backroom.errors import not_found
from backroom.pagination import CursorText, PageRead

router = APIRouter(prefix="/api/v1/shifts", tags=["shifts"])
CASH = ("payments", "create")


@router.get("")
async def list_shifts(
    session: Session, limit: int = 50, cursor: CursorText | None = None, p: Principal = require(*CASH)
) -> PageRead[ShiftRead]:
    """Your shifts, newest first."""
    page = await branches.shifts_page(session, user_id=p.user_id, limit=limit, cursor=cursor)
    return PageRead[ShiftRead].of(page, ShiftRead)


@router.post("", status_code=201, response_model=ShiftRead)
async def open_shift(session: Session, body: ShiftOpen, p: Principal = require(*CASH)):
    """Open your shift at a branch. Not idempotent: a second open shift there is a 409."""
    p.require(*CASH, branch_id=body.branch_id)
    return await branches.open_shift(
        session, actor=p.actor(), branch_id=body.branch_id, opening_float_minor=body.opening_float_minor
    )


@router.post("/{shift_id:id}/close", response_model=ShiftRead)
async def close_shift(session: Session, shift_id: Id, body: ShiftClose, p: Principal = require(*CASH)):
    """Close your open shift with the counted cash. A second close is a 409."""
    shift = await session.get(Shift, shift_id)
    if shift is not None:
        p.require(*CASH, branch_id=shift.branch_id)
    return await branches.close_shift(
        session,
        actor=p.actor(),
        shift_id=shift_id,
        closing_count_minor=body.closing_count_minor,
        note=body.note,
    )


@router.post("/current/cash", status_code=201, responses={202: {"model": GatedActionRead}})
async def move_cash(
    session: Session, settings: SettingsDep, response: Response, body: CashIn, p: Principal = require(*CASH)
) -> CashMovementRead | GatedActionRead:
    """A pay-in or pay-out in the drawer of your open shift (409 without one). A pay-out above
    CASH_PAYOUT_APPROVAL_OVER_MINOR waits for a manager's approval (202 with the request).
    Idempotent by `reference`."""
    result = await cash.pay(
        session,
        actor=p.actor(),
        kind=CashKind(body.kind),
        amount_minor=body.amount_minor,
        reason=body.reason,
        reference=body.reference,
        settings=settings,
    )
    if not isinstance(result, CashMovement):
        response.status_code = 202
        return GatedActionRead.model_validate(result)
    return CashMovementRead.model_validate(result)


@router.get("/{shift_id:id}/report")
async def shift_report(session: Session, shift_id: Id, p: Principal = require(*CASH)) -> ShiftReportRead:
    """A shift's cash: float, movements, totals by kind, expected cash and, once closed, the
    count and the variance (counted minus expected). Your own shifts, or any in a branch
    where you approve payments."""
    r = await readable_report(session, shift_id, p)
    return ShiftReportRead(
        shift=ShiftRead.model_validate(r.shift),
        branch=r.branch,
        cashier=r.cashier,
        movements=[CashMovementRead.model_validate(m) for m in r.movements],
        totals=r.totals,
        expected_minor=r.expected_minor,
        counted_minor=r.counted_minor,
        variance_minor=r.variance_minor,
    )


async def readable_report(session, shift_id: int, p: Principal) -> cash.ShiftReport:
    """The report of a shift the caller may read; someone else's is a 404 unless the caller
    approves payments in its branch."""
    shift = await session.get(Shift, shift_id)
    if shift is None or (shift.user_id != p.user_id and not p.can("payments", "approve", shift.branch_id)):
        raise not_found("Shift", shift_id)
    return await cash.report(session, shift_id)
