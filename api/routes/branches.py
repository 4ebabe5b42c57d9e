"""A branch's working calendar: the opening hours and holidays its SLA clocks count."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Session, require
from api.params import Id
from backroom.auth.principal import Principal
from backroom.branches import service as branches
from backroom.branches.schemas import CalendarIn, CalendarRead
from backroom.errors import Refused

router = APIRouter(prefix="/api/v1/branches", tags=["branches"])


@router.get("/{branch_id:id}/calendar")
async def calendar(session: Session, branch_id: Id, p: Principal = require("admin", "read")) -> CalendarRead:
    """The branch's opening hours (local time) and its holidays from two months back on."""
    p.require("admin", "read", branch_id=branch_id)
    return await branches.calendar_read(session, branch_id)


@router.put("/{branch_id:id}/calendar")
async def set_calendar(
    session: Session, branch_id: Id, body: CalendarIn, p: Principal = require("admin", "update")
) -> CalendarRead:
    """Replace the opening hours and holidays. Cases and complaints opened from now on count
    this working time; clocks already running keep the calendar they started with. Audited."""
    p.require("admin", "update", branch_id=branch_id)
    if len({d.weekday for d in body.hours}) != len(body.hours):
        raise Refused("Give each weekday once.", field="hours")
    hours, holidays = body.parts()
    await branches.set_calendar(session, actor=p.actor(), branch_id=branch_id, hours=hours, holidays=holidays)
    return await branches.calendar_read(session, branch_id)
