"""Cashier shifts: open one at a branch with the float, close it with the counted cash.

Permission ("payments", "create"): a shift is cash handling; see api/routes/shifts.py."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Session, require
from api.params import Id
from api.ui.common import branch_choices, parse_form, redirect, render
from backroom.auth.principal import Principal
from backroom.branches import service as branches
from backroom.branches.models import Shift
from backroom.branches.schemas import MAX_CASH_MINOR
from backroom.money import parse_money

router = APIRouter(include_in_schema=False)
NAV = [("Shift", "/shifts", ("payments", "create"), 90)]
CASH = ("payments", "create")


class OpenForm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    branch_id: int = Field(ge=1, le=2**63 - 1)
    opening_float: str = Field(default="0", max_length=20)


class CloseForm(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    closing_count: str = Field(max_length=20)
    note: str | None = Field(default=None, max_length=500)


def cash_minor(text: str, currency: str) -> int:
    """A typed cash amount in minor units, or ValueError with a message for the form."""
    try:
        amount = parse_money(text, currency)
    except (ValueError, ArithmeticError) as exc:  # ArithmeticError: "Infinity" and the like
        raise ValueError("Enter an amount like 150.00") from exc
    if not 0 <= amount <= MAX_CASH_MINOR:
        raise ValueError("Enter an amount between 0 and 10,000,000,000")
    return amount


async def _page(request: Request, p: Principal, session: AsyncSession, *, status: int = 200, **ctx):
    choices = await branch_choices(session, p, *CASH)
    ctx.setdefault("values", {})
    ctx.setdefault("errors", {})
    return render(
        request,
        "shifts.html",
        p,
        status=status,
        branches=choices,
        names={b.id: b.name for b in choices},
        shifts=await branches.shifts_for(session, user_id=p.user_id),
        **ctx,
    )


@router.get("/shifts")
async def shifts_page(session: Session, request: Request, p: Principal = require(*CASH)):
    return await _page(request, p, session)


@router.post("/shifts/open")
async def open_shift(session: Session, request: Request, p: Principal = require(*CASH)):
    """Open your shift at a branch; a second open shift there is refused."""
    form, errors, raw = await parse_form(request, OpenForm)
    if form is not None:
        p.require(*CASH, branch_id=form.branch_id)
        branch = await branches.get_branch(session, form.branch_id)
        try:
            float_minor = cash_minor(form.opening_float or "0", branch.currency)
        except ValueError as exc:
            errors = {"opening_float": str(exc)}
        else:
            shift = await branches.open_shift(
                session, actor=p.actor(), branch_id=branch.id, opening_float_minor=float_minor
            )
            return redirect("/shifts", flash=f"Shift #{shift.id} is open at {branch.name}.")
    return await _page(request, p, session, status=422, values=raw, errors=errors)


@router.post("/shifts/{shift_id}/close")
async def close_shift(session: Session, shift_id: Id, request: Request, p: Principal = require(*CASH)):
    """Close your open shift with the counted cash."""
    form, errors, raw = await parse_form(request, CloseForm)
    shift = await session.get(Shift, shift_id)
    if shift is not None:
        p.require(*CASH, branch_id=shift.branch_id)
    if form is not None:
        try:
            counted = cash_minor(form.closing_count, shift.currency if shift else "USD")
        except ValueError as exc:
            errors = {"closing_count": str(exc)}
        else:
            shift = await branches.close_shift(
                session, actor=p.actor(), shift_id=shift_id, closing_count_minor=counted, note=form.note
            )
            return redirect("/shifts", flash=f"Shift #{shift.id} is closed.")
    return await _page(request, p, session, status=422, values=raw, errors=errors, closing=shift_id)
