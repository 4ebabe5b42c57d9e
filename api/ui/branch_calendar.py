"""Working hours and holidays of a branch (what its complaint and after-sales SLA clocks count)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from pydantic import ValidationError

from api.deps import Session, require
from api.params import Id
from api.ui.common import redirect, render
from backroom.auth.principal import Principal
from backroom.branches import service as branches
from backroom.branches.schemas import CalendarIn, Holiday, OpenDay
from backroom.errors import InvalidInput

router = APIRouter(include_in_schema=False)
NAV = [("Working hours", "/admin/calendars", ("admin", "read"), 101)]
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@router.get("/admin/calendars")
async def calendars(request: Request, session: Session, p: Principal = require("admin", "read")):
    """The branches the user administers, each with its working calendar."""
    allowed = p.branch_ids("admin", "read")
    rows = [b for b in await branches.list_branches(session) if allowed is None or b.id in allowed]
    cals = await branches.calendars(session, {b.id for b in rows})
    return render(request, "branch_calendars.html", p, rows=[(b, cals[b.id]) for b in rows], days=DAYS)


@router.get("/admin/branches/{branch_id}/calendar")
async def calendar_page(
    request: Request, session: Session, branch_id: Id, p: Principal = require("admin", "read")
):
    p.require("admin", "read", branch_id=branch_id)
    branch = await branches.get_branch(session, branch_id)
    cal = await branches.calendar_read(session, branch_id)
    return render(request, "branch_calendar.html", p, branch=branch, cal=cal, days=DAYS)


def _form_calendar(form) -> CalendarIn:
    """The form's seven rows (empty times: closed) and its holiday lines ("2026-12-25 Christmas")."""
    hours = [
        OpenDay(
            weekday=d, opens=form.get(f"opens-{d}", "").strip(), closes=form.get(f"closes-{d}", "").strip()
        )
        for d in range(7)
        if form.get(f"opens-{d}", "").strip() or form.get(f"closes-{d}", "").strip()
    ]
    holidays = []
    for line in str(form.get("holidays", "")).splitlines():
        if line.strip():
            day, _, name = line.strip().partition(" ")
            try:
                holidays.append(Holiday(day=date.fromisoformat(day), name=name.strip()[:120]))
            except ValueError:
                raise InvalidInput(
                    f"Write each holiday as 2026-12-25 and its name: {line.strip()!r}."
                ) from None
    return CalendarIn(hours=hours, holidays=holidays)


@router.post("/admin/branches/{branch_id}/calendar")
async def save(request: Request, session: Session, branch_id: Id, p: Principal = require("admin", "update")):
    """Replace the branch's hours and holidays (audited)."""
    p.require("admin", "update", branch_id=branch_id)
    try:
        data = _form_calendar(await request.form())
    except ValidationError:
        raise InvalidInput("Write opening and closing times like 09:00 and 17:30.", field="hours") from None
    hours, holidays = data.parts()
    await branches.set_calendar(session, actor=p.actor(), branch_id=branch_id, hours=hours, holidays=holidays)
    return redirect(f"/admin/branches/{branch_id}/calendar", flash="Working hours saved.")
