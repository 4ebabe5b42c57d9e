"""Abandoned carts API: the list (value, items, customer, reminders, last activity), one
cart's reminders, a reminder sent by hand, and each branch's reminder cadence.
Casbin function "abandoned_carts"."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Session, SettingsDep, require
from api.params import Id
from backroom.auth.principal import Principal
from backroom.pagination import CursorText
from backroom.recovery import service as recovery
from backroom.recovery.schemas import (
    AbandonedCartDetail,
    AbandonedCartPage,
    AbandonedCartRead,
    ReminderRead,
    ReminderSent,
    ReminderSettingsIn,
    ReminderSettingsRead,
)

router = APIRouter(prefix="/api/v1/abandoned-carts", tags=["abandoned carts"])


class AbandonedQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    recovered: bool | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: CursorText | None = Field(default=None, max_length=200)


def read(row: recovery.AbandonedRow) -> AbandonedCartRead:
    cart, rec = row.cart, row.recovery
    return AbandonedCartRead(
        cart_id=cart.id,
        branch_id=cart.branch_id,
        status=cart.status,
        customer_id=cart.customer_id,
        customer_name=row.customer_name,
        currency=cart.currency,
        value_minor=cart.total_minor,
        item_count=cart.item_count,
        last_activity_at=cart.last_activity_at,
        abandoned_at=rec.abandoned_at,
        reminders_sent=rec.reminders_sent,
        last_reminder_at=rec.last_reminder_at,
        unsubscribed=rec.unsubscribed_at is not None,
        recovered_at=rec.recovered_at,
        recovered_order_id=rec.recovered_order_id,
        recovered_step=rec.recovered_step,
        recovered_minor=rec.recovered_minor,
    )


@router.get("")
async def list_abandoned(
    session: Session, q: Annotated[AbandonedQuery, Query()], p: Principal = require("abandoned_carts", "list")
) -> AbandonedCartPage:
    page = await recovery.list_abandoned(
        session,
        branch_ids=p.branch_ids("abandoned_carts", "list"),
        recovered=q.recovered,
        limit=q.limit,
        cursor=q.cursor,
    )
    return AbandonedCartPage(items=[read(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/settings/{branch_id:id}")
async def get_settings(
    session: Session, branch_id: Id, p: Principal = require("abandoned_carts", "read")
) -> ReminderSettingsRead:
    p.require("abandoned_carts", "read", branch_id=branch_id)
    return ReminderSettingsRead.model_validate(await recovery.reminder_settings(session, branch_id))


@router.put("/settings/{branch_id:id}")
async def put_settings(
    session: Session,
    branch_id: Id,
    body: ReminderSettingsIn,
    p: Principal = require("abandoned_carts", "update"),
) -> ReminderSettingsRead:
    """Set the branch's cadence and recovery promotion (carts started afterwards use it)."""
    p.require("abandoned_carts", "update", branch_id=branch_id)
    row = await recovery.set_reminder_settings(session, actor=p.actor(), branch_id=branch_id, data=body)
    return ReminderSettingsRead.model_validate(row)


@router.get("/{cart_id:id}")
async def get_abandoned(
    session: Session, cart_id: Id, p: Principal = require("abandoned_carts", "read")
) -> AbandonedCartDetail:
    page_row = await _row(session, p, cart_id, "read")
    reminders = [ReminderRead.model_validate(r) for r in await recovery.reminders_of(session, cart_id)]
    return AbandonedCartDetail(**read(page_row).model_dump(), reminders=reminders)


async def _row(session, p: Principal, cart_id: int, action: str) -> recovery.AbandonedRow:
    row = await recovery.abandoned_row(session, cart_id)
    p.require("abandoned_carts", action, branch_id=row.cart.branch_id)
    return row


@router.post("/{cart_id:id}/reminders", status_code=201)
async def send_reminder(
    session: Session, settings: SettingsDep, cart_id: Id, p: Principal = require("abandoned_carts", "post")
) -> ReminderSent:
    """Send a reminder now (consent and stock rules apply; 422 with the reason otherwise)."""
    await _row(session, p, cart_id, "post")
    result = await recovery.send_by_hand(
        session,
        actor=p.actor(),
        cart_id=cart_id,
        secret=settings.session_secret(),
        base_url=settings.base_url,
    )
    return ReminderSent(sent=result.sent, reason=result.reason)
