"""A branch's working calendar: the opening hours and holidays its SLA clocks count."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Session, require
from api.params import Id
from backroom.auth.principal import Principal
from backroom.branches import service as branches
from backroom.branches.schemas import CalendarIn, CalendarRead, Holiday, OpenDay, hhmm, minutes
from backroom.branches.service import get_branch
from backroom.errors import InvalidInput

router = APIRouter(prefix="/api/v1/branches", tags=["branches"])


async def _read(session, branch_id: int) -> CalendarRead:
    branch = await get_branch(session, branch_id)
    cal = await branches.work_calendar(session, branch.id)
    names = await branches.holiday_names(session, branch.id)
    return CalendarRead(
        branch_id=branch.id,
        timezone=branch.timezone,
        around_the_clock=cal.around_the_clock,
        hours=[OpenDay(weekday=d, opens=hhmm(o), closes=hhmm(c)) for d, (o, c) in sorted(cal.hours.items())],
        holidays=[Holiday(day=d, name=names.get(d, "")) for d in cal.holidays],
    )


@router.get("/{branch_id}/calendar")
async def calendar(session: Session, branch_id: Id, p: Principal = require("admin", "read")) -> CalendarRead:
    """The branch's opening hours (local time) and its holidays from two months back on."""
    p.require("admin", "read", branch_id=branch_id)
    return await _read(session, branch_id)


@router.put("/{branch_id}/calendar")
async def set_calendar(
    session: Session, branch_id: Id, body: CalendarIn, p: Principal = require("admin", "update")
) -> CalendarRead:
    """Replace the opening hours and holidays. Cases and complaints opened from now on count
    this working time; clocks already running keep the calendar they started with. Audited."""
    p.require("admin", "update", branch_id=branch_id)
    if len({d.weekday for d in body.hours}) != len(body.hours):
        raise InvalidInput("Give each weekday once.", field="hours")
    await branches.set_calendar(
        session,
        actor=p.actor(),
        branch_id=branch_id,
        hours={d.weekday: (minutes(d.opens), minutes(d.closes)) for d in body.hours},
        holidays={h.day: h.name for h in body.holidays},
    )
    return await _read(session, branch_id)
