"""The points ledger's mechanics: awards, FIFO takings, expiry, give-backs, claw-backs.

Rules every function keeps (tests/backroom/loyalty/test_ledger_properties.py proves them over
random sequences):
- an award's `remaining` is its points plus every entry that names it (`award_id`);
- points are only ever taken from unexpired awards with points remaining, oldest expiry first,
  and never more than remains, so the balance (the sum of the member's entries) is never
  negative and an expired point is never redeemed;
- what a claw-back cannot take (the points were spent) is recorded as the member's debt and
  paid from the next awards, never silently lost;
- an award on hold (`held_at`, its purchase disputed) is neither taken nor expired until it is
  released; a claw-back still reaches it.
Every write carries a unique `key`: a repeated call (a retried activity) changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backroom.loyalty.errors import NotEnoughPoints
from backroom.loyalty.models import EntryKind, LoyaltyEntry, LoyaltyMember

AWARD_KINDS = (EntryKind.earn, EntryKind.adjust)


def _is_award():
    return and_(LoyaltyEntry.award_id.is_(None), LoyaltyEntry.points > 0)


def _remaining_subquery():
    taken = aliased(LoyaltyEntry)
    return (
        select(func.coalesce(func.sum(taken.points), 0))
        .where(taken.award_id == LoyaltyEntry.id)
        .scalar_subquery()
    )


async def balance(session: AsyncSession, member_id: int) -> int:
    return int(
        await session.scalar(
            select(func.coalesce(func.sum(LoyaltyEntry.points), 0)).where(LoyaltyEntry.member_id == member_id)
        )
    )


async def open_awards(
    session: AsyncSession, member_id: int, now: datetime, *, expired: bool = False
) -> list[tuple[LoyaltyEntry, int]]:
    """(award, remaining) with points left: unexpired ones in FIFO order (oldest expiry first),
    or with `expired=True` the ones past their expiry."""
    remaining = (LoyaltyEntry.points + _remaining_subquery()).label("remaining")
    when = LoyaltyEntry.expires_at <= now if expired else LoyaltyEntry.expires_at > now
    rows = await session.execute(
        select(LoyaltyEntry, remaining)
        .where(
            LoyaltyEntry.member_id == member_id,
            _is_award(),
            LoyaltyEntry.held_at.is_(None),
            when,
            remaining > 0,
        )
        .order_by(LoyaltyEntry.expires_at, LoyaltyEntry.id)
    )
    return [(e, int(r)) for e, r in rows.all()]


async def available(session: AsyncSession, member_id: int, now: datetime) -> int:
    return sum(r for _, r in await open_awards(session, member_id, now))


async def hold(
    session: AsyncSession,
    member: LoyaltyMember,
    *,
    source_type: str,
    source_id: str,
    now: datetime | None,
) -> int:
    """Put a source's awards on hold (`now`), or release them (`now=None`). Idempotent.
    Returns the points still unspent on the awards whose state changed."""
    awards = (
        await session.execute(
            select(LoyaltyEntry, LoyaltyEntry.points + _remaining_subquery()).where(
                LoyaltyEntry.member_id == member.id,
                LoyaltyEntry.source_type == source_type,
                LoyaltyEntry.source_id == source_id,
                _is_award(),
                LoyaltyEntry.held_at.is_(None) if now else LoyaltyEntry.held_at.is_not(None),
            )
        )
    ).all()
    for award_, _ in awards:
        award_.held_at = now
    await session.flush()
    return sum(int(r) for _, r in awards)


async def held(session: AsyncSession, member_id: int) -> int:
    """Unspent points on hold."""
    remaining = LoyaltyEntry.points + _remaining_subquery()
    return await _sum(
        session,
        remaining,
        LoyaltyEntry.member_id == member_id,
        _is_award(),
        LoyaltyEntry.held_at.is_not(None),
    )


async def _existing(session: AsyncSession, key: str) -> LoyaltyEntry | None:
    return await session.scalar(select(LoyaltyEntry).where(LoyaltyEntry.key.startswith(key)).limit(1))


def _entry(
    member: LoyaltyMember, kind: EntryKind, points: int, key: str, now: datetime, **kw
) -> LoyaltyEntry:
    return LoyaltyEntry(member_id=member.id, kind=kind, points=points, key=key, at=now, **kw)


async def award(
    session: AsyncSession,
    member: LoyaltyMember,
    *,
    points: int,
    kind: EntryKind,
    expiry_days: int,
    key: str,
    now: datetime,
    **kw,
) -> LoyaltyEntry | None:
    """Write an award expiring `expiry_days` after `now` (its own terms, kept whatever the
    program says later); a member's debt is paid from it first. None if `key` was written."""
    if await session.scalar(select(LoyaltyEntry.id).where(LoyaltyEntry.key == key)):
        return None
    entry = _entry(member, kind, points, key, now, expires_at=now + timedelta(days=expiry_days), **kw)
    session.add(entry)
    await session.flush()
    if member.debt_points:
        paid = min(member.debt_points, points)
        session.add(
            _entry(
                member, EntryKind.reverse, -paid, f"{key}:debt", now, award_id=entry.id, reason="Debt paid"
            )
        )
        member.debt_points -= paid
        await session.flush()
    return entry


async def take(
    session: AsyncSession,
    member: LoyaltyMember,
    *,
    points: int,
    kind: EntryKind,
    key: str,
    now: datetime,
    partial: bool = False,
    **kw,
) -> int:
    """Take `points` FIFO from unexpired awards (one entry per award, keys `key:n`). Refuses
    when there are not enough, unless `partial`; returns what was taken (0 if `key` was written)."""
    if await _existing(session, f"{key}:"):
        return 0
    awards = await open_awards(session, member.id, now)
    have = sum(r for _, r in awards)
    if have < points and not partial:
        raise NotEnoughPoints(f"Only {have} points are available; {points} were asked for.")
    left = points
    for n, (a, remaining) in enumerate(awards):
        if left <= 0:
            break
        part = min(left, remaining)
        session.add(_entry(member, kind, -part, f"{key}:{n}", now, award_id=a.id, **kw))
        left -= part
    await session.flush()
    return points - left


async def expire_due(session: AsyncSession, member: LoyaltyMember, now: datetime) -> int:
    """Expire what is left of every award past its date. Idempotent. Returns points expired."""
    total = 0
    for a, remaining in await open_awards(session, member.id, now, expired=True):
        # A give-back may restore points to an award after it expired once: key per amount left.
        key = f"expire:{a.id}:{remaining}:{await _count_takings(session, a.id)}"
        session.add(_entry(member, EntryKind.expire, -remaining, key, now, award_id=a.id))
        total += remaining
    await session.flush()
    return total


async def _count_takings(session: AsyncSession, award_id: int) -> int:
    return int(await session.scalar(select(func.count()).where(LoyaltyEntry.award_id == award_id)))


async def give_back(
    session: AsyncSession, member: LoyaltyMember, *, source_type: str, source_id: str, key: str, now: datetime
) -> int:
    """Return the points a source (an order) redeemed, to the awards they came from; points
    whose award has expired meanwhile expire again at once. Idempotent by `key`, and never
    more than the source redeemed and has not had back (a second give-back under another
    key returns nothing)."""
    if await _existing(session, f"{key}:"):
        return 0
    of_source = (
        LoyaltyEntry.member_id == member.id,
        LoyaltyEntry.source_type == source_type,
        LoyaltyEntry.source_id == source_id,
    )
    redeemed = func.sum(case((LoyaltyEntry.kind == EntryKind.redeem, -LoyaltyEntry.points), else_=0))
    returned = func.sum(
        case(
            (and_(LoyaltyEntry.kind == EntryKind.reverse, LoyaltyEntry.points > 0), LoyaltyEntry.points),
            else_=0,
        )
    )
    rows = await session.execute(
        select(LoyaltyEntry.award_id, redeemed - returned)
        .where(*of_source, LoyaltyEntry.award_id.is_not(None))
        .group_by(LoyaltyEntry.award_id)
        .order_by(LoyaltyEntry.award_id)
    )
    total = 0
    for n, (award_id, due) in enumerate(rows.all()):
        if due <= 0:
            continue
        session.add(
            _entry(
                member,
                EntryKind.reverse,
                int(due),
                f"{key}:{n}",
                now,
                award_id=award_id,
                source_type=source_type,
                source_id=source_id,
                reason="Points given back",
            )
        )
        total += int(due)
    await session.flush()
    await expire_due(session, member, now)
    return total


async def _sum(session: AsyncSession, col, *where) -> int:
    return int(await session.scalar(select(func.coalesce(func.sum(col), 0)).where(*where)))


async def claw_back(
    session: AsyncSession,
    member: LoyaltyMember,
    *,
    source_type: str,
    source_id: str,
    share: tuple[int, int] = (1, 1),
    key: str,
    now: datetime,
) -> tuple[int, int]:
    """Bring what a source (an order) has given back up to `share` (numerator, denominator,
    cumulative: the part of the order refunded so far) of what it earned: first from the
    awards themselves, then FIFO from other unexpired awards; what cannot be taken (already
    spent) becomes the member's debt. Points of those awards that had already expired are not
    owed. Cumulative, so partial refunds then a full one take exactly the award, never more.
    Returns (taken, debt added). Idempotent by `key` (and by the cumulative share)."""
    if await _existing(session, f"{key}:"):
        return 0, 0
    same_source = (
        LoyaltyEntry.member_id == member.id,
        LoyaltyEntry.source_type == source_type,
        LoyaltyEntry.source_id == source_id,
    )
    awards = (await session.scalars(select(LoyaltyEntry).where(*same_source, _is_award()))).all()
    num, den = share
    mine = (*same_source, LoyaltyEntry.kind == EntryKind.reverse)
    # What earlier claw-backs of this source took, or recorded as owed.
    done = -await _sum(session, LoyaltyEntry.points, *mine, LoyaltyEntry.points < 0)
    done += await _sum(session, LoyaltyEntry.owed_points, *mine)
    due = 0
    plans = []
    for a in awards:
        expired = -await _sum(
            session, LoyaltyEntry.points, LoyaltyEntry.award_id == a.id, LoyaltyEntry.kind == EntryKind.expire
        )
        due += max(0, a.points * num // den - expired)
        spend_done = -await _sum(session, LoyaltyEntry.spend_minor, LoyaltyEntry.award_id == a.id, *mine)
        remaining = a.points + await _sum(session, LoyaltyEntry.points, LoyaltyEntry.award_id == a.id)
        plans.append((a, remaining if a.expires_at > now else 0, a.spend_minor * num // den - spend_done))
    left = max(0, due - done)
    taken = 0
    for n, (a, remaining, spend) in enumerate(plans):
        here = min(left, remaining)
        if here or spend:  # the refunded spend leaves the tier's 12 months too
            session.add(
                _entry(
                    member,
                    EntryKind.reverse,
                    -here,
                    f"{key}:a{n}",
                    now,
                    award_id=a.id,
                    source_type=source_type,
                    source_id=source_id,
                    spend_minor=-spend,
                    reason="Earned on a refunded purchase",
                )
            )
            await session.flush()
        taken += here
        left -= here
    if left:
        more = await take(
            session,
            member,
            points=left,
            kind=EntryKind.reverse,
            key=f"{key}:x",
            now=now,
            partial=True,
            source_type=source_type,
            source_id=source_id,
            reason="Earned on a refunded purchase",
        )
        taken += more
        left -= more
    if left:
        session.add(
            _entry(
                member,
                EntryKind.reverse,
                0,
                f"{key}:owed",
                now,
                source_type=source_type,
                source_id=source_id,
                owed_points=left,
                reason="Earned on a refunded purchase, already spent: owed",
            )
        )
    member.debt_points += left
    await session.flush()
    return taken, left
