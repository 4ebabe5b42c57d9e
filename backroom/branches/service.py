"""Branches and cashier shifts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.branches.errors import NoShopBranch, ShiftAlreadyClosed, ShiftAlreadyOpen
from backroom.branches.models import Branch, Shift, ShiftStatus
from backroom.db.base import utcnow
from backroom.errors import not_found
from backroom.pagination import Page, paginate


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
    """Open the actor's cashier shift at a branch. One open shift per cashier per branch."""
    branch = await get_branch(session, branch_id)
    existing = await session.scalar(
        select(Shift).where(
            Shift.user_id == actor.user_id, Shift.branch_id == branch_id, Shift.status == ShiftStatus.OPEN
        )
    )
    if existing:
        raise ShiftAlreadyOpen(
            f"You already have shift #{existing.id} open at {branch.name}.", shift_id=existing.id
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
    """Close one of the actor's open shifts with the counted cash."""
    shift = await session.get(Shift, shift_id)
    if not shift or shift.user_id != actor.user_id:
        raise not_found("Shift", shift_id)
    if shift.status != ShiftStatus.OPEN:
        raise ShiftAlreadyClosed(f"Shift #{shift_id} is already closed.")
    before = audit.snapshot(shift)
    shift.status, shift.closed_at, shift.closing_count_minor, shift.note = (
        ShiftStatus.CLOSED,
        utcnow(),
        closing_count_minor,
        note,
    )
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
