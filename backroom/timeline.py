"""A record's own timeline (after-sales cases, warranties): events appended with who and when,
an optional key that makes a workflow's retried step write once, and customer notices that go
out through the outbox and show on the timeline. One shape for every *Event model with the
columns kind, key, detail, actor_name and at."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit.context import Actor
from backroom.db.base import utcnow
from backroom.notifications import service as notify


async def add(
    session: AsyncSession,
    model,
    *,
    actor: Actor,
    kind: str,
    at: datetime | None = None,
    **fields,
) -> None:
    """Append one event (`fields`: the owner's id column, detail, key, states...)."""
    session.add(model(kind=kind, actor_name=actor.name, at=at or utcnow(), **fields))
    await session.flush()


async def seen(session: AsyncSession, model, key: str) -> bool:
    """Whether an event with this key was written already (a retried step). Read-only."""
    return bool(await session.scalar(select(model.id).where(model.key == key)))


async def notice(
    session: AsyncSession,
    model,
    *,
    owner: dict[str, int],
    key: str,
    actor: Actor,
    event: str,
    detail: str | None,
    kind: str,
    to_customer_id: int,
    branch_id: int | None,
    subject: str,
    body: str,
    link: str | None = None,
    at: datetime | None = None,
) -> None:
    """Queue a message to the customer (deduplicated by `key`) and note it on the record's
    timeline under the same key, in the caller's transaction. Idempotent with `seen(key)`."""
    await notify.enqueue(
        session,
        kind=kind,
        to_customer_id=to_customer_id,
        branch_id=branch_id,
        subject=subject,
        body=body,
        link=link,
        dedupe_key=key,
    )
    await add(session, model, actor=actor, kind=event, key=key, detail=detail, at=at, **owner)
