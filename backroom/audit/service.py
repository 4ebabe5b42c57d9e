"""Append-only, hash-chained audit events, written in the caller's transaction."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.inspection import inspect as sa_inspect

from backroom.audit.context import Actor
from backroom.audit.models import AuditEvent
from backroom.audit.schemas import AuditFilter
from backroom.audit.visibility import EventView, readable
from backroom.db.base import utcnow
from backroom.db.session import is_postgres
from backroom.pagination import Page, paginate

GENESIS = "0" * 64
# Any constant: the key of the PostgreSQL advisory lock that serializes chain appends.
_CHAIN_LOCK = 7_001_001


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


def _fields(ev: AuditEvent) -> dict[str, Any]:
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


async def lock_chain(session: AsyncSession) -> None:
    """Take the chain's append lock now (PostgreSQL; re-entrant within the transaction). Call it
    first in a transaction that also locks rows others update, so every writer takes the chain
    lock before row locks and two such writers cannot deadlock."""
    if is_postgres(session):
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})


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
    """Append one event to the chain in the caller's transaction. Not idempotent: call it
    once per write, inside the same transaction as the write."""
    if is_postgres(session):
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})
    last = (
        await session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    ).first()
    prev_id, prev_hash = (last[0], last[1]) if last else (0, GENESIS)
    # Microsecond precision survives both databases' round trip, so the hash re-checks.
    ev = AuditEvent(
        id=prev_id + 1,
        at=utcnow(),
        actor_type=actor.type,
        actor_id=actor.id,
        actor_name=actor.name,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        branch_id=branch_id,
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
        request_id=actor.request_id,
        workflow_id=actor.workflow_id,
        prev_hash=prev_hash,
        hash="",
    )
    ev.hash = event_hash(prev_hash, _fields(ev))
    session.add(ev)
    await session.flush()
    return ev


@dataclass
class ChainReport:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    problem: str | None = None


async def verify(session: AsyncSession, *, batch: int = 5000) -> ChainReport:
    """Re-hash the whole chain in order; report the first event whose link is broken. Read-only."""
    prev_hash, expected_id, checked = GENESIS, 1, 0
    last_id = 0
    while True:
        rows = (
            (
                await session.execute(
                    select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
                )
            )
            .scalars()
            .all()
        )
        if not rows:
            return ChainReport(ok=True, checked=checked)
        for ev in rows:
            if ev.id != expected_id:
                return ChainReport(False, checked, expected_id, f"event {expected_id} is missing")
            if ev.prev_hash != prev_hash:
                return ChainReport(False, checked, ev.id, "prev_hash does not match the previous event")
            if event_hash(prev_hash, _fields(ev)) != ev.hash:
                return ChainReport(False, checked, ev.id, "contents do not match the stored hash")
            prev_hash, expected_id, last_id = ev.hash, ev.id + 1, ev.id
            checked += 1
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
    backroom.audit.visibility), newest first, secrets and server paths redacted. Read-only."""
    rows = await session.execute(
        select(AuditEvent)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return readable(rows.scalars(), may_read)


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
