"""Starting and signalling workflows from routes: deterministic ids, retries are harmless."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from backroom import temporal

log = logging.getLogger("backroom.api")
_ATTRS_SUPPORTED: dict[int, bool] = {}


async def _supports_attributes(client: Client) -> bool:
    """Whether the cluster has Backroom's search attributes (the test server has none, and a
    start it rejects for them still reserves the id, so ask before the first start)."""
    key = id(client)
    if key not in _ATTRS_SUPPORTED:
        try:
            have = await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=client.namespace))
            _ATTRS_SUPPORTED[key] = all(k.name in have.custom_attributes for k in temporal.SEARCH_ATTRIBUTES)
        except RPCError:
            _ATTRS_SUPPORTED[key] = False
    return _ATTRS_SUPPORTED[key]


async def start(request: Request, run: Any, arg: Any, *, workflow_id: str, branch_id: int | None = None,
                customer_id: int | None = None, order_id: int | None = None) -> None:
    """Start a workflow after the commit that created its record. Idempotent by id."""
    client = await request.app.state.temporal.client()
    extra = {}
    if await _supports_attributes(client):
        extra["search_attributes"] = temporal.search_attributes(branch_id=branch_id, customer_id=customer_id,
                                                                order_id=order_id)
    await temporal.start_once(client, run, arg, id=workflow_id, task_queue=request.app.state.settings.task_queue,
                              **extra)


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
