"""The sealer: links committed audit events into the hash chain, in id order, shortly after
they commit. Writers never wait for it (nor for one another); it runs every AUDIT_SEAL_SECONDS
in the worker and the web app, and as `backroom audit seal`. One sealer works at a time.

Why a horizon (PostgreSQL): ids come from a sequence and transactions commit in any order, so
event 10 can commit after event 11. Sealing 11 first would leave 10 behind the chain's head
for good. The sealer therefore only seals ids every writer of which has finished: it reads the
sequence's last drawn id, then takes an xid of its own; every transaction that drew an id up to
there already had an xid (the insert trigger assigns it before drawing, backroom.audit.triggers),
an older one. Once no transaction older than the sealer's xid is running, every id up to the
mark is committed or rolled back for good, and the sealer links them in order. Exact, no clock,
and no waiting on anyone in the usual case (writers' transactions last milliseconds).
On SQLite every write holds the one write lock, so what the sealer sees committed is all there
is below the newest id: no horizon is needed. docs/audit.md has the threat model."""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit.models import AuditEvent
from backroom.audit.service import GENESIS, event_hash, hashed_fields
from backroom.db.session import Sessionmaker, is_postgres, point_reads

log = logging.getLogger("backroom.audit.sealer")
# Any constant: the key of the PostgreSQL advisory lock one sealer holds while it seals.
SEALER_LOCK = 7_001_002
BATCH = 2000
_table = AuditEvent.__table__
_SEAL = (
    update(_table)
    .where(_table.c.id == bindparam("event_id"), _table.c.hash.is_(None))
    .values(seq=bindparam("seq"), prev_hash=bindparam("prev"), hash=bindparam("new_hash"))
)


async def _mark(maker: Sessionmaker) -> tuple[int, int]:
    """(every id drawn so far is <= this, an xid newer than every transaction that drew one)."""
    async with maker.begin() as s:
        last, called = (await s.execute(text("SELECT last_value, is_called FROM audit_events_id_seq"))).one()
        xid = await s.scalar(text("SELECT pg_current_xact_id()::text::bigint"))
    return (last if called else last - 1), xid


def _reader(maker: Sessionmaker) -> Sessionmaker:
    """Read-only sessions on the same engine (on SQLite they do not take the write lock; on
    PostgreSQL no transaction around them: each of the sealer's reads is one statement)."""
    return point_reads(maker)


async def _settled(maker: Sessionmaker, xid: int, *, wait: float) -> bool:
    """Whether, within `wait` seconds, every transaction older than `xid` has ended (only
    transactions that wrote have an xid: long reads do not hold the sealer back)."""
    deadline, pause = time.monotonic() + wait, 0.005
    while True:
        async with _reader(maker)() as s:
            oldest = await s.scalar(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
        if oldest > xid:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.2)


async def seal_batch(session: AsyncSession, *, up_to: int | None, limit: int = BATCH) -> int | None:
    """Link up to `limit` unsealed events (ids above the chain's head, at most `up_to`) into the
    chain in id order, in the caller's transaction. None if another sealer is at work. Idempotent:
    a sealed event is never sealed again (the update is conditional, the trigger refuses it)."""
    if is_postgres(session):
        if not await session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": SEALER_LOCK}):
            return None
    head = (
        await session.execute(
            select(AuditEvent.id, AuditEvent.seq, AuditEvent.hash)
            .where(AuditEvent.seq.is_not(None))
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        )
    ).first()
    seq, prev = (head.seq, head.hash) if head else (0, GENESIS)
    stmt = select(AuditEvent).where(AuditEvent.hash.is_(None))
    if head:
        # An unsealed event below the head is never sealed: it came in behind the chain's back
        # (verify names it).
        stmt = stmt.where(AuditEvent.id > head.id)
    if up_to is not None:
        stmt = stmt.where(AuditEvent.id <= up_to)
    events = (await session.execute(stmt.order_by(AuditEvent.id).limit(limit))).scalars().all()
    if not events:
        return 0
    links = []
    for ev in events:
        seq += 1
        new_hash = event_hash(prev, hashed_fields(ev))
        links.append({"event_id": ev.id, "seq": seq, "prev": prev, "new_hash": new_hash})
        prev = new_hash
    await session.execute(_SEAL, links)
    session.expunge_all()
    return len(links)


async def seal(maker: Sessionmaker, *, wait: float = 10.0, batch: int = BATCH) -> int:
    """Seal every event committed before the call (on PostgreSQL, once the transactions that drew
    ids until now have ended; up to `wait` seconds). Returns how many it sealed; 0 when another
    sealer holds the lock or a transaction stays open past `wait` (the next round tries again)."""
    # A read first: most rounds find nothing, and need neither SQLite's write lock nor an xid.
    async with _reader(maker)() as probe:
        if await probe.scalar(select(AuditEvent.id).where(AuditEvent.hash.is_(None)).limit(1)) is None:
            return 0
    up_to = None
    if maker.kw["bind"].dialect.name == "postgresql":
        up_to, xid = await _mark(maker)
        if not await _settled(maker, xid, wait=wait):
            log.warning("audit sealer: a transaction older than xid %s is still open; sealing later", xid)
            return 0
    total = 0
    while True:
        async with maker.begin() as session:
            n = await seal_batch(session, up_to=up_to, limit=batch)
        total += n or 0
        if n is None or n < batch:
            return total


async def head(maker: Sessionmaker) -> tuple[int, str] | None:
    """The chain's newest link (position, hash). Read-only."""
    async with _reader(maker)() as s:
        row = (
            await s.execute(
                select(AuditEvent.seq, AuditEvent.hash)
                .where(AuditEvent.seq.is_not(None))
                .order_by(AuditEvent.seq.desc())
                .limit(1)
            )
        ).first()
    return (row.seq, row.hash) if row else None


async def run(maker: Sessionmaker, *, every: float, note_head_every: float = 60.0) -> None:
    """Seal every `every` seconds until cancelled (beside the worker and the web app). At most
    once per `note_head_every` seconds it logs the chain's head: logs kept off the database are
    the copy that shows a rewritten or truncated chain (docs/audit.md, threat model)."""
    noted = 0.0
    while True:
        try:
            n = await seal(maker, wait=max(every, 1.0))
            if n and time.monotonic() - noted >= note_head_every:
                if (top := await head(maker)) is not None:
                    log.info("audit chain head: position %d, hash %s", *top)
                    noted = time.monotonic()
        except asyncio.CancelledError:
            raise
        except Exception:  # a database hiccup must not end the loop; the next round retries
            log.exception("audit sealer round failed")
        await asyncio.sleep(every)
