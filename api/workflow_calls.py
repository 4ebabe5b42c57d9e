"""Starting and signalling workflows from routes: deterministic ids, retries are harmless."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from temporalio.client import WorkflowHandle
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from backroom import temporal

log = logging.getLogger("backroom.api")


async def start(request: Request, run: Any, arg: Any, *, workflow_id: str, branch_id: int | None = None,
                customer_id: int | None = None, order_id: int | None = None) -> None:
    """Start a workflow after the commit that created its record. Idempotent by id."""
    client = await request.app.state.temporal.client()
    attrs = temporal.search_attributes(branch_id=branch_id, customer_id=customer_id, order_id=order_id)
    queue = request.app.state.settings.task_queue
    try:
        await client.start_workflow(run, arg, id=workflow_id, task_queue=queue, search_attributes=attrs)
    except WorkflowAlreadyStartedError:
        pass
    except RPCError as exc:
        # A cluster without Backroom's search attributes (e.g. the test server) still runs the workflow.
        if "search attribute" not in str(exc).lower():
            raise
        try:
            await client.start_workflow(run, arg, id=workflow_id, task_queue=queue)
        except WorkflowAlreadyStartedError:
            pass


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
