"""Cashier shifts: open one at a branch with the float, pay cash in and out of its drawer,
close it with the counted cash (expected cash and variance shown), print its report.

Permission ("payments", "create"): a shift is cash handling; see api/routes/shifts.py."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Session, SettingsDep, require
from api.params import Id
from api.routes.shifts import readable_report
from api.ui.common import branch_choices, parse_form, pdf_page, redirect, render
from backroom.auth.principal import Principal
from backroom.branches import cash
from backroom.branches import service as branches
from backroom.branches.models import CashKind, CashMovement, Shift
from backroom.branches.schemas import MAX_CASH_MINOR
from backroom.errors import AppError
from backroom.money import format_money, parse_money

router = APIRouter(include_in_schema=False)
NAV = [("Shift", "/shifts", ("payments", "create"), 90)]
CASH = ("payments", "create")


class OpenForm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    branch_id: int = Field(ge=1, le=2**63 - 1)
    opening_float: str = Field(default="0", max_length=20)


class CashForm(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    kind: Literal["pay_in", "pay_out"]
    amount: str = Field(max_length=20)
    reason: str = Field(min_length=3, max_length=300)


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
    current = await cash.open_shift_of(session, p.user_id)
    return render(
        request,
        "shifts.html",
        p,
        status=status,
        branches=choices,
        names={b.id: b.name for b in choices},
        shifts=await branches.shifts_for(session, user_id=p.user_id),
        current=await cash.report(session, current.id) if current else None,
        labels=cash.LABEL,
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
            over = shift.variance_minor
            word = "balanced" if over == 0 else ("over by " if over > 0 else "short by ")
            amount = "" if over == 0 else format_money(abs(over), shift.currency)
            return redirect(
                f"/shifts/{shift.id}/report",
                flash=f"Shift #{shift.id} is closed: expected "
                f"{format_money(shift.expected_cash_minor, shift.currency)}, counted "
                f"{format_money(shift.closing_count_minor, shift.currency)}, {word}{amount}.",
            )
    return await _page(request, p, session, status=422, values=raw, errors=errors, closing=shift_id)


@router.post("/shifts/cash")
async def move_cash(session: Session, settings: SettingsDep, request: Request, p: Principal = require(*CASH)):
    """A pay-in or pay-out in your open shift's drawer; a large pay-out waits for a manager."""
    form, errors, raw = await parse_form(request, CashForm)
    current = await cash.open_shift_of(session, p.user_id)
    if form is not None and current is None:
        return redirect("/shifts", flash="Open your shift first: cash goes into the drawer of an open shift.")
    if form is not None:
        try:
            amount = cash_minor(form.amount, current.currency)
            if amount == 0:
                raise ValueError("Enter an amount above zero")
        except ValueError as exc:
            errors = {"amount": str(exc)}
        else:
            try:
                async with session.begin_nested():  # a refusal undoes this attempt only
                    result = await cash.pay(
                        session,
                        actor=p.actor(),
                        kind=CashKind(form.kind),
                        amount_minor=amount,
                        reason=form.reason,
                        reference=f"ui:{uuid.uuid4().hex}",
                        settings=settings,
                    )
            except AppError as exc:
                errors = {"amount": exc.detail}
            else:
                money = format_money(amount, current.currency)
                if isinstance(result, CashMovement):
                    what = "paid in" if form.kind == "pay_in" else "paid out"
                    return redirect("/shifts", flash=f"{money} {what}.")
                return redirect(
                    "/shifts",
                    flash=f"The pay-out of {money} waits for a manager's approval; hand out the cash once it is approved.",
                )
    return await _page(request, p, session, status=422, values=raw, errors=errors, moving=True)


@router.get("/shifts/{shift_id}/report")
async def report_page(session: Session, shift_id: Id, request: Request, p: Principal = require(*CASH)):
    """A shift's cash report, printable (and as PDF)."""
    return render(
        request, "shift_report.html", p, r=await readable_report(session, shift_id, p), labels=cash.LABEL
    )


@router.get("/shifts/{shift_id}/report.pdf")
async def report_pdf(session: Session, shift_id: Id, request: Request, p: Principal = require(*CASH)):
    """The shift report as an A4 PDF (WeasyPrint, off the event loop)."""
    r = await readable_report(session, shift_id, p)
    return await pdf_page(request, "shift_report_pdf.html", f"shift-{shift_id}.pdf", r=r, labels=cash.LABEL)
