"""Append-only audit events, written in the caller's transaction and hash-chained by the sealer
(backroom.audit.sealer) shortly after they commit. docs/audit.md has the design."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.inspection import inspect as sa_inspect

from backroom.audit import describe, shred
from backroom.audit.context import Actor
from backroom.audit.models import AuditEvent
from backroom.audit.schemas import AuditFilter
from backroom.audit.visibility import EventView, readable
from backroom.db.base import utcnow
from backroom.pagination import Page, paginate

GENESIS = "0" * 64


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (Decimal,)):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return value


def snapshot(obj: Any, *, exclude: tuple[str, ...] = ("password_hash", "token_hash")) -> dict[str, Any]:
    """The column values of an ORM object, JSON-ready, for before/after."""
    mapper = sa_inspect(obj).mapper
    return {c.key: _plain(getattr(obj, c.key)) for c in mapper.column_attrs if c.key not in exclude}


def event_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def hashed_fields(ev: AuditEvent) -> dict[str, Any]:
    """What an event's hash covers (its chain fields seq/prev_hash/hash are covered by the links)."""
    return {
        "id": ev.id,
        "at": ev.at.isoformat(),
        "actor_type": ev.actor_type,
        "actor_id": ev.actor_id,
        "actor_name": ev.actor_name,
        "action": ev.action,
        "entity_type": ev.entity_type,
        "entity_id": ev.entity_id,
        "branch_id": ev.branch_id,
        "before": ev.before,
        "after": ev.after,
        "request_id": ev.request_id,
        "workflow_id": ev.workflow_id,
    }


async def record(
    session: AsyncSession,
    *,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: Any,
    branch_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Insert one event in the caller's transaction, so it commits (or not) with the write it
    describes. No lock: the database numbers it, and the sealer links it into the hash chain
    after commit (backroom.audit.sealer). Personal fields of an event about a customer (or a
    storefront order) are stored encrypted with that subject's key (backroom.audit.shred), so
    erasure can make them unreadable while the chain keeps hashing what is stored. The row goes
    in with the transaction's next flush (its id is set then). Not idempotent: call it once per
    write."""
    before = _plain(before) if before is not None else None
    after = _plain(after) if after is not None else None
    subject = shred.subject_of(entity_type, entity_id, before, after)
    ev = AuditEvent(
        # Microsecond precision survives both databases' round trip, so the hash re-checks.
        at=utcnow(),
        actor_type=actor.type,
        actor_id=actor.id,
        actor_name=actor.name,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        branch_id=branch_id,
        before=await shred.seal_personal(session, subject, before),
        after=await shred.seal_personal(session, subject, after),
        request_id=actor.request_id,
        workflow_id=actor.workflow_id,
    )
    # Inserted with the transaction's next flush (a query's autoflush, or the commit's), with
    # the unit of work's other rows. Still one INSERT per event: the id is drawn by a trigger
    # on PostgreSQL, and SQLAlchemy batches only rows whose returned ids it can match.
    session.add(ev)
    return ev


@dataclass
class ChainReport:
    """What verify found: `ok` (no broken link), how many sealed events it re-hashed, the first
    broken event and why; the chain's head; and the events still waiting to be sealed."""

    ok: bool
    checked: int
    first_broken_id: int | None = None
    problem: str | None = None
    head_seq: int | None = None
    head_hash: str | None = None
    unsealed: int = 0
    oldest_unsealed_id: int | None = None
    oldest_unsealed_at: datetime | None = None

    def unsealed_age_seconds(self, now: datetime | None = None) -> float | None:
        if self.oldest_unsealed_at is None:
            return None
        return max(0.0, ((now or utcnow()) - self.oldest_unsealed_at).total_seconds())


def _check(ev: AuditEvent, prev: AuditEvent | None, prev_hash: str, seq: int) -> str | None:
    """Why `ev` does not follow `prev` (chain position `seq` - 1, hash `prev_hash`); None if it does."""
    after = f"event {prev.id}" if prev is not None else "the start of the chain"
    if ev.seq is None or ev.prev_hash is None:
        return "it is only partly sealed: its chain fields were written outside the sealer"
    if ev.seq > seq:
        return (
            f"chain position {seq} is missing: the event between {after} and this one was deleted"
            if ev.seq == seq + 1
            else f"chain positions {seq} to {ev.seq - 1} are missing: events after {after} were deleted"
        )
    if ev.seq < seq:
        return f"it claims chain position {ev.seq} where {seq} belongs: it was inserted after {after}"
    if ev.prev_hash != prev_hash:
        return f"prev_hash does not match {after}: an event before it was inserted, removed or rewritten"
    if event_hash(prev_hash, hashed_fields(ev)) != ev.hash:
        return "contents do not match the stored hash"
    return None


async def verify(session: AsyncSession, *, batch: int = 5000) -> ChainReport:
    """Re-hash the sealed chain in id order (the order the sealer links events) and name the
    first event whose link is broken: edited (its hash), deleted (a gap in the chain positions),
    inserted (a repeated position, a broken prev_hash, or an unsealed event below sealed ones,
    which the sealer never leaves). Counts the events not sealed yet. Read-only."""
    report = ChainReport(ok=True, checked=0)
    prev: AuditEvent | None = None
    prev_hash, seq, last_id = GENESIS, 1, None
    first_unsealed: AuditEvent | None = None
    while True:
        stmt = select(AuditEvent).order_by(AuditEvent.id).limit(batch)
        if last_id is not None:  # ids need not be positive (an attacker's need not)
            stmt = stmt.where(AuditEvent.id > last_id)
        rows = (await session.execute(stmt)).scalars().all()
        if not rows:
            return report
        for ev in rows:
            last_id = ev.id
            if ev.hash is None:
                report.unsealed += 1
                if first_unsealed is None:
                    first_unsealed = ev
                    report.oldest_unsealed_id, report.oldest_unsealed_at = ev.id, ev.at
                elif ev.at < report.oldest_unsealed_at:
                    report.oldest_unsealed_at = ev.at
                continue
            if report.ok and first_unsealed is not None:
                report.ok, report.first_broken_id = False, first_unsealed.id
                report.problem = (
                    f"it is not sealed but event {ev.id} after it is: it was inserted after the "
                    "chain had been sealed past its place"
                )
            if report.ok and (problem := _check(ev, prev, prev_hash, seq)):
                report.ok, report.first_broken_id, report.problem = False, ev.id, problem
            if not report.ok:
                # The rest of the table is still read for the unsealed count, not re-hashed.
                continue
            report.checked += 1
            report.head_seq, report.head_hash = ev.seq, ev.hash
            prev, prev_hash, seq = ev, ev.hash, ev.seq + 1
        session.expunge_all()


async def trail(
    session: AsyncSession,
    *,
    entity_type: str,
    entity_id: Any,
    may_read: Callable[[str], bool] | None = None,
    limit: int = 200,
) -> list[EventView]:
    """The audit events of one record the viewer may read (`may_read(function)`, see
    backroom.audit.visibility), newest first, secrets and server paths redacted, with the
    names of the users, branches and customers they name. Read-only."""
    rows = await session.execute(
        select(AuditEvent)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    events = await views(session, rows.scalars().all(), may_read)
    names = await describe.names_for(session, events)
    return [dataclasses.replace(e, names=names) for e in events]


async def views(
    session: AsyncSession, events: list[AuditEvent], may_read: Callable[[str], bool] | None = None
) -> list[EventView]:
    """The events as readers see them (`readable`): personal fields decrypted with their
    subject's key, "(erased)" where erasure destroyed it. Read-only."""
    return readable(events, may_read, keys=await shred.keys_for(session, events))


async def events_page(session: AsyncSession, *, filt: AuditFilter, branch_ids: set[int] | None) -> Page:
    """Events, newest first, filtered by record and action, limited to `branch_ids` (None: all).
    Keyset-paged. Read-only."""
    stmt = select(AuditEvent)
    if filt.entity_type:
        stmt = stmt.where(AuditEvent.entity_type == filt.entity_type)
    if filt.entity_id:
        stmt = stmt.where(AuditEvent.entity_id == filt.entity_id)
    if filt.action:
        stmt = stmt.where(AuditEvent.action == filt.action)
    if branch_ids is not None:
        stmt = stmt.where(AuditEvent.branch_id.in_(branch_ids))
    return await paginate(
        session,
        stmt,
        sort_col=AuditEvent.id,
        id_col=AuditEvent.id,
        limit=filt.limit,
        cursor=filt.cursor,
        descending=True,
    )
