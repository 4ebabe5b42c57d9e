"""Queueing workflow starts and signals from the edge, for use cases not yet in the domain:
both go into the outbox of the request's transaction, dispatched after its commit."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import workflow as wf

from backroom.starts import service as starts


async def start(
    session: AsyncSession,
    run: Any,
    arg: BaseModel,
    *,
    workflow_id: str,
    branch_id: int | None = None,
    customer_id: int | None = None,
    order_id: int | None = None,
) -> None:
    """Queue the start with the record; the request's unit of work starts it after the commit.
    Idempotent by id."""
    await starts.enqueue(
        session,
        run=run,
        arg=arg,
        workflow_id=workflow_id,
        branch_id=branch_id,
        customer_id=customer_id,
        order_id=order_id,
    )


async def signal(session: AsyncSession, workflow_id: str, signal: Any, arg: BaseModel | None = None) -> None:
    """Queue a signal; delivered after the commit (a finished workflow drops it: the record is
    the truth)."""
    name = wf._SignalDefinition.must_name_from_fn_or_str(signal)
    await starts.enqueue_signal(session, workflow_id=workflow_id, signal=name, arg=arg)
