"""Starting and signalling workflows from routes: deterministic ids, retries are harmless."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from backroom.errors import WorkflowServiceUnavailable
from backroom.starts import service as starts

log = logging.getLogger("backroom.api")


async def start(
    request: Request,
    session: AsyncSession,
    run: Any,
    arg: BaseModel,
    *,
    workflow_id: str,
    branch_id: int | None = None,
    customer_id: int | None = None,
    order_id: int | None = None,
) -> None:
    """Enqueue the start with the record, commit both, then start at once. If Temporal cannot
    be reached the request still succeeds: the worker's poller starts it. Idempotent by id."""
    await starts.enqueue(
        session,
        run=run,
        arg=arg,
        workflow_id=workflow_id,
        task_queue=request.app.state.settings.task_queue,
        branch_id=branch_id,
        customer_id=customer_id,
        order_id=order_id,
    )
    await session.commit()
    try:
        client = await request.app.state.temporal.client()
    except WorkflowServiceUnavailable as exc:
        log.warning("Temporal unreachable; %s will start later: %s", workflow_id, exc)
        return
    await starts.dispatch(client, request.app.state.sessionmaker, [workflow_id])


async def handle(request: Request, workflow_id: str) -> WorkflowHandle:
    client = await request.app.state.temporal.client()
    return client.get_workflow_handle(workflow_id)


async def signal(request: Request, workflow_id: str, signal: Any, arg: Any = None) -> bool:
    """Signal a workflow; a finished or unknown one is logged, not an error (the record is the truth)."""
    h = await handle(request, workflow_id)
    try:
        if arg is None:
            await h.signal(signal)
        else:
            await h.signal(signal, arg)
        return True
    except RPCError as exc:
        log.info("signal to %s not delivered: %s", workflow_id, exc)
        return False
