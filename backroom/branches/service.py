"""Branches and cashier shifts."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.branches.errors import NoShopBranch, ShiftAlreadyClosed, ShiftAlreadyOpen
from backroom.branches.models import Branch, BranchHoliday, BranchHours, Shift, ShiftStatus
from backroom.db.base import utcnow
from backroom.errors import InvalidInput, Refused, not_found
from backroom.pagination import Page, paginate
from backroom.sla import WorkCalendar


async def get_branch(session: AsyncSession, branch_id: int) -> Branch:
    branch = await session.get(Branch, branch_id)
    if not branch:
        raise not_found("Branch", branch_id)
    return branch


async def shop_branch(session: AsyncSession, *, code: str | None) -> Branch:
    """The branch the storefront sells from: the one with `code` (SHOP_BRANCH_CODE), else the
    first branch. Read-only."""
    stmt = select(Branch)
    if code:
        stmt = stmt.where(Branch.code == code)
    branch = await session.scalar(stmt.order_by(Branch.id).limit(1))
    if branch is None:
        raise NoShopBranch("No branch sells online yet.")
    return branch


async def list_branches(session: AsyncSession) -> list[Branch]:
    return list((await session.execute(select(Branch).order_by(Branch.code))).scalars())


async def ensure_branch(
    session: AsyncSession, *, actor: Actor, code: str, name: str, timezone: str = "UTC", currency: str = "USD"
) -> Branch:
    """Create the branch unless one with this code exists. Idempotent."""
    branch = await session.scalar(select(Branch).where(Branch.code == code))
    if branch:
        return branch
    branch = Branch(code=code, name=name, timezone=timezone, currency=currency)
    session.add(branch)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="branch.create",
        entity_type="branch",
        entity_id=branch.id,
        branch_id=branch.id,
        after=audit.snapshot(branch),
    )
    return branch


async def open_shift(
    session: AsyncSession, *, actor: Actor, branch_id: int, opening_float_minor: int = 0
) -> Shift:
    """Open the actor's cashier shift at a branch. One open shift per cashier, whatever the
    branch (the database refuses a second one even from two requests at once)."""
    branch = await get_branch(session, branch_id)
    existing = await session.scalar(
        select(Shift).where(Shift.user_id == actor.user_id, Shift.status == ShiftStatus.OPEN)
    )
    if existing:
        where = (await get_branch(session, existing.branch_id)).name
        raise ShiftAlreadyOpen(
            f"You already have shift #{existing.id} open at {where}: close it first.", shift_id=existing.id
        )
    shift = Shift(
        branch_id=branch_id,
        user_id=actor.user_id,
        opened_at=utcnow(),
        status=ShiftStatus.OPEN,
        opening_float_minor=opening_float_minor,
        currency=branch.currency,
    )
    session.add(shift)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="shift.open",
        entity_type="shift",
        entity_id=shift.id,
        branch_id=branch_id,
        after=audit.snapshot(shift),
    )
    return shift


async def close_shift(
    session: AsyncSession, *, actor: Actor, shift_id: int, closing_count_minor: int, note: str | None = None
) -> Shift:
    """Close the actor's open shift with the counted cash: the expected cash (float plus the
    shift's cash movements) and the variance (counted minus expected) are fixed on it."""
    from backroom.branches import cash

    shift = await session.get(Shift, shift_id, with_for_update=True)  # no movement slips in
    if not shift or shift.user_id != actor.user_id:
        raise not_found("Shift", shift_id)
    if shift.status != ShiftStatus.OPEN:
        raise ShiftAlreadyClosed(f"Shift #{shift_id} is already closed.")
    before = audit.snapshot(shift)
    expected = await cash.expected_cash(session, shift)
    shift.status, shift.closed_at, shift.closing_count_minor, shift.note = (
        ShiftStatus.CLOSED,
        utcnow(),
        closing_count_minor,
        note,
    )
    shift.expected_cash_minor, shift.variance_minor = expected, closing_count_minor - expected
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="shift.close",
        entity_type="shift",
        entity_id=shift.id,
        branch_id=shift.branch_id,
        before=before,
        after=audit.snapshot(shift),
    )
    return shift


async def shifts_page(session: AsyncSession, *, user_id: int, limit: int, cursor: str | None) -> Page:
    """The user's shifts, newest first, keyset-paged. Read-only."""
    return await paginate(
        session,
        select(Shift).where(Shift.user_id == user_id),
        sort_col=Shift.id,
        id_col=Shift.id,
        limit=limit,
        cursor=cursor,
        descending=True,
    )


async def shifts_for(session: AsyncSession, *, user_id: int, limit: int = 20) -> list[Shift]:
    rows = await session.execute(
        select(Shift).where(Shift.user_id == user_id).order_by(Shift.id.desc()).limit(limit)
    )
    return list(rows.scalars())


# Holidays further back than this cannot affect a clock that is still running.
HOLIDAYS_BACK = timedelta(days=60)


async def calendars(session: AsyncSession, branch_ids: set[int] | list[int]) -> dict[int, WorkCalendar]:
    """The working calendars of these branches (hours, holidays from two months back on).
    Read-only; one query per table."""
    ids = set(branch_ids)
    if not ids:
        return {}
    zones = dict((await session.execute(select(Branch.id, Branch.timezone).where(Branch.id.in_(ids)))).all())
    hours: dict[int, dict[int, tuple[int, int]]] = {}
    for h in await session.scalars(select(BranchHours).where(BranchHours.branch_id.in_(ids))):
        hours.setdefault(h.branch_id, {})[h.weekday] = (h.opens_min, h.closes_min)
    since = utcnow().date() - HOLIDAYS_BACK
    days: dict[int, list[date]] = {}
    for hd in await session.scalars(
        select(BranchHoliday)
        .where(BranchHoliday.branch_id.in_(ids), BranchHoliday.day >= since)
        .order_by(BranchHoliday.day)
    ):
        days.setdefault(hd.branch_id, []).append(hd.day)
    return {
        b: WorkCalendar(tz=zones[b] or "UTC", hours=hours.get(b, {}), holidays=tuple(days.get(b, ())))
        for b in ids
        if b in zones
    }


async def work_calendar(session: AsyncSession, branch_id: int) -> WorkCalendar:
    """One branch's working calendar (around the clock when it has no hours). Read-only."""
    return (await calendars(session, {branch_id})).get(branch_id, WorkCalendar())


async def set_calendar(
    session: AsyncSession,
    *,
    actor: Actor,
    branch_id: int,
    hours: dict[int, tuple[int, int]],
    holidays: dict[date, str],
) -> WorkCalendar:
    """Replace the branch's opening hours and holidays (what the SLA clocks count from now on;
    clocks already running keep the calendar they started with). Audited. Idempotent."""
    branch = await get_branch(session, branch_id)
    for day, (opens, closes) in hours.items():
        if day not in range(7):
            raise InvalidInput("Weekdays go from 0 (Monday) to 6 (Sunday).", field="hours")
        if not 0 <= opens < closes <= 24 * 60:
            raise Refused("A day opens before it closes, within 00:00 and 24:00.", field="hours")
    before = (await work_calendar(session, branch.id)).model_dump(mode="json")
    await session.execute(delete(BranchHours).where(BranchHours.branch_id == branch.id))
    await session.execute(delete(BranchHoliday).where(BranchHoliday.branch_id == branch.id))
    session.add_all(
        BranchHours(branch_id=branch.id, weekday=d, opens_min=o, closes_min=c) for d, (o, c) in hours.items()
    )
    session.add_all(BranchHoliday(branch_id=branch.id, day=d, name=n) for d, n in holidays.items())
    await session.flush()
    cal = WorkCalendar(tz=branch.timezone, hours=hours, holidays=tuple(sorted(holidays)))
    await audit.record(
        session,
        actor=actor,
        action="branch.calendar",
        entity_type="branch",
        entity_id=branch.id,
        branch_id=branch.id,
        before=before,
        after=cal.model_dump(mode="json"),
    )
    return cal


async def with_sla(session: AsyncSession, rows, sla_of, now) -> list:
    """[(row, its SLA info)] in the rows' order, each row's clock read in its own branch's
    calendar: `sla_of(row, now, calendar)`. Read-only."""
    cals = await calendars(session, {r.branch_id for r in rows})
    return [(r, sla_of(r, now, cals.get(r.branch_id, WorkCalendar()))) for r in rows]


async def by_sla_risk(session: AsyncSession, rows, sla_of, now) -> list:
    """Like `with_sla`, riskiest first (breached, then most of the clock used). Read-only."""
    out = await with_sla(session, rows, sla_of, now)
    return sorted(out, key=lambda x: (x[1].sort_key, x[0].id))


async def holiday_names(session: AsyncSession, branch_id: int) -> dict[date, str]:
    """The branch's holidays by day, with their names. Read-only."""
    rows = await session.execute(
        select(BranchHoliday.day, BranchHoliday.name).where(BranchHoliday.branch_id == branch_id)
    )
    return dict(rows.all())


async def calendar_read(session: AsyncSession, branch_id: int):
    """The branch's calendar as people read it (times "09:00", holidays with names). Read-only."""
    from backroom.branches.schemas import CalendarRead, Holiday, OpenDay, hhmm

    branch = await get_branch(session, branch_id)
    cal = await work_calendar(session, branch.id)
    names = await holiday_names(session, branch.id)
    return CalendarRead(
        branch_id=branch.id,
        timezone=branch.timezone,
        around_the_clock=cal.around_the_clock,
        hours=[OpenDay(weekday=d, opens=hhmm(o), closes=hhmm(c)) for d, (o, c) in sorted(cal.hours.items())],
        holidays=[Holiday(day=d, name=names.get(d, "")) for d in cal.holidays],
    )
