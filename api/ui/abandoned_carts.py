"""Staff page of abandoned carts: value, items, customer, reminders sent, last activity (in
the cart's branch time), recovered or not; a reminder sent by hand."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy import select

from api.deps import Session, require
from api.params import Id
from api.ui.common import redirect, render
from backroom.auth.principal import Principal
from backroom.branches.models import Branch
from backroom.errors import InvalidInput
from backroom.promotions.models import Promotion
from backroom.recovery import service as recovery
from backroom.recovery.schemas import ReminderSettingsIn

router = APIRouter(include_in_schema=False)
NAV = [("Abandoned carts", "/abandoned-carts", ("abandoned_carts", "list"), 36)]


@router.get("/abandoned-carts")
async def abandoned_list(
    session: Session, request: Request, p: Principal = require("abandoned_carts", "list")
):
    show = request.query_params.get("show") or "open"
    if show not in ("open", "recovered", "all"):
        raise InvalidInput("Show open, recovered or all.", field="show")
    page = await recovery.list_abandoned(
        session,
        branch_ids=p.branch_ids("abandoned_carts", "list"),
        recovered={"open": False, "recovered": True, "all": None}[show],
        cursor=request.query_params.get("cursor") or None,
    )
    branches = {b.id: b for b in await session.scalars(select(Branch))}

    def local(value, branch_id):
        if value is None:
            return ""
        return value.astimezone(ZoneInfo(branches[branch_id].timezone)).strftime("%Y-%m-%d %H:%M %Z")

    editable = [b for b in branches.values() if p.can("abandoned_carts", "update", b.id)]
    cadence = {b.id: await recovery.reminder_settings(session, b.id) for b in editable}
    recovery_promotions = list(
        await session.scalars(
            select(Promotion).where(Promotion.code_mode == "recovery").order_by(Promotion.name)
        )
    )
    return render(
        request,
        "abandoned_carts/list.html",
        p,
        page=page,
        show=show,
        branches=branches,
        local=local,
        cadence=cadence,
        recovery_promotions=recovery_promotions,
    )


@router.post("/abandoned-carts/settings/{branch_id}")
async def save_settings(
    session: Session, request: Request, branch_id: Id, p: Principal = require("abandoned_carts", "update")
):
    """A branch's reminder delays (hours, comma-separated) and recovery promotion."""
    p.require("abandoned_carts", "update", branch_id=branch_id)
    form = await request.form()
    try:
        delays = [float(x) for x in str(form.get("delays_hours", "")).replace(",", " ").split()]
        promo = str(form.get("recovery_promotion_id") or "").strip()
        data = ReminderSettingsIn(
            enabled=form.get("enabled") == "on",
            delays_hours=delays,
            recovery_promotion_id=int(promo) if promo else None,
        )
    except (ValueError, ValidationError):
        raise InvalidInput(
            "Give 1 to 5 reminder delays in hours, e.g. 1, 24, 72 (15 minutes to 29 days each).",
            field="delays_hours",
        ) from None
    await recovery.set_reminder_settings(session, actor=p.actor(), branch_id=branch_id, data=data)
    return redirect("/abandoned-carts", flash="Reminder settings saved; carts started from now on use them.")


@router.post("/abandoned-carts/{cart_id}/remind")
async def remind(
    session: Session, request: Request, cart_id: Id, p: Principal = require("abandoned_carts", "post")
):
    """Send a reminder now; the page says why not when the rules forbid it."""
    row = await recovery.abandoned_row(session, cart_id)
    p.require("abandoned_carts", "post", branch_id=row.cart.branch_id)
    settings = request.app.state.settings
    try:
        await recovery.send_by_hand(
            session,
            actor=p.actor(),
            cart_id=cart_id,
            secret=settings.session_secret(),
            base_url=settings.base_url,
        )
    except InvalidInput as exc:
        return redirect("/abandoned-carts", flash=exc.detail)
    return redirect("/abandoned-carts", flash=f"Reminder sent to {row.customer_name}.")
