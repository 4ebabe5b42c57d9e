"""Cashier shifts: open and close your own shift at a branch.

Permission ("payments", "create"): a shift is cash handling, so whoever may take payments
at a branch may open a shift there."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Session, require
from api.params import Id
from backroom.auth.principal import Principal
from backroom.branches import service as branches
from backroom.branches.models import Shift
from backroom.branches.schemas import ShiftClose, ShiftOpen, ShiftRead
from backroom.pagination import PageRead

router = APIRouter(prefix="/api/v1/shifts", tags=["shifts"])
CASH = ("payments", "create")


@router.get("")
async def list_shifts(
    session: Session, limit: int = 50, cursor: str | None = None, p: Principal = require(*CASH)
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


@router.post("/{shift_id}/close", response_model=ShiftRead)
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
