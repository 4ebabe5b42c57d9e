"""Staff pages for loyalty: the programs with their tiers and members per tier, and the
member's card on the customer page (enrol, adjust)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from api.deps import Session, require
from api.params import Id
from api.ui.common import parse_form, redirect, render
from backroom.auth.principal import Principal
from backroom.customers.service import get_customer
from backroom.errors import AppError, InvalidInput
from backroom.loyalty import service
from backroom.loyalty.models import LoyaltyMember
from backroom.segments import service as segments

router = APIRouter(include_in_schema=False)
NAV = [("Loyalty", "/loyalty", ("loyalty", "list"), 12)]


class EnrolForm(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    consent: bool = False
    birthday: str | None = Field(default=None, max_length=10)  # "03-14" or a full date


def _birthday(text: str | None) -> tuple[int | None, int | None]:
    """ "03-14", "14.03." or "1990-03-14" to (month, day); the year is not kept."""
    text = (text or "").strip()
    if not text:
        return None, None
    try:
        if "." in text:
            day, month = (int(x) for x in text.strip(".").split(".")[:2])
        else:
            month, day = (int(x) for x in text.split("-")[-2:])
    except ValueError:
        raise InvalidInput("Type the birthday as month-day, e.g. 03-14.", field="birthday") from None
    return month, day


class AdjustForm(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    points: int = Field(ge=-(10**7), le=10**7)
    reason: str | None = Field(default=None, max_length=300)


@router.get("/loyalty")
async def programs_page(session: Session, request: Request, p: Principal = require("loyalty", "list")):
    programs = [await service.read_program(session, prog) for prog in await service.list_programs(session)]
    rows = await session.execute(
        select(LoyaltyMember.program_id, LoyaltyMember.tier_id, func.count()).group_by(
            LoyaltyMember.program_id, LoyaltyMember.tier_id
        )
    )
    per_tier = {(pid, tid): n for pid, tid, n in rows.all()}
    segment_names = {x.id: x.name for x in await segments.list_segments(session)}
    return render(
        request, "loyalty/programs.html", p, programs=programs, per_tier=per_tier, segment_names=segment_names
    )


async def card_context(session, p: Principal, customer) -> dict:
    """What the customer page shows of loyalty (nothing without the permission)."""
    if not p.can("loyalty", "read", customer.home_branch_id):
        return {}
    return {
        "loyalty_card": await service.card(session, customer.id),
        "loyalty_program": await service.active_program(session, customer.currency),
    }


@router.post("/customers/{customer_id}/loyalty/enrol")
async def enrol_form(
    session: Session, request: Request, customer_id: Id, p: Principal = require("loyalty", "create")
):
    customer = await get_customer(session, customer_id)
    p.require("loyalty", "create", customer.home_branch_id)
    form, _, _ = await parse_form(request, EnrolForm)
    try:
        month, day = _birthday(form.birthday if form else None)
        async with session.begin_nested():
            await service.enrol(
                session,
                actor=p.actor(),
                customer_id=customer.id,
                consent=bool(form and form.consent),
                birth_month=month,
                birth_day=day,
            )
    except AppError as exc:
        return redirect(f"/customers/{customer.id}", exc.detail)
    return redirect(f"/customers/{customer.id}", f"{customer.name} joined the loyalty program.")


@router.post("/customers/{customer_id}/loyalty/adjust")
async def adjust_form(
    session: Session, request: Request, customer_id: Id, p: Principal = require("loyalty", "update")
):
    customer = await get_customer(session, customer_id)
    p.require("loyalty", "update", customer.home_branch_id)
    form, _, _ = await parse_form(request, AdjustForm)
    if form is None:
        return redirect(f"/customers/{customer.id}", "Enter whole points, e.g. 250 or -100.")
    try:
        async with session.begin_nested():
            out = await service.adjust(
                session,
                actor=p.actor(),
                customer_id=customer.id,
                points=form.points,
                reason=form.reason or "",
            )
    except AppError as exc:
        return redirect(f"/customers/{customer.id}", exc.detail)
    msg = (
        "Adjusted." if out.status == "applied" else "Above the limit: a manager has been asked to approve it."
    )
    return redirect(f"/customers/{customer.id}", msg)
