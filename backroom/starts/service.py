"""Transactional workflow starts: enqueue with the record, start right after the commit, and
let the worker's poller start whatever the first try could not (Temporal down, a crash)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import workflow as wf
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from backroom import temporal
from backroom.db.base import utcnow
from backroom.db.session import Sessionmaker
from backroom.starts.models import WorkflowStart

log = logging.getLogger("backroom.starts")
_ATTRS: dict[int, bool] = {}


def workflow_name(run) -> str:
    """The registered name of a workflow, from its run method (or a name given as a string)."""
    if isinstance(run, str):
        return run
    return wf._Definition.must_from_run_fn(run).name


async def enqueue(
    session: AsyncSession,
    *,
    run,
    arg: BaseModel,
    workflow_id: str,
    task_queue: str,
    branch_id: int | None = None,
    customer_id: int | None = None,
    order_id: int | None = None,
) -> WorkflowStart:
    """Record that `workflow_id` must run, in the caller's transaction. Idempotent by id."""
    row = await session.scalar(select(WorkflowStart).where(WorkflowStart.workflow_id == workflow_id))
    if row is None:
        row = WorkflowStart(
            workflow_id=workflow_id,
            workflow_type=workflow_name(run),
            args=arg.model_dump(mode="json"),
            task_queue=task_queue,
            branch_id=branch_id,
            customer_id=customer_id,
            order_id=order_id,
            status="pending",
            created_at=utcnow(),
        )
        session.add(row)
        await session.flush()
    return row


async def _supports_attributes(client: Client) -> bool:
    """Whether the cluster knows Backroom's search attributes (the time-skipping test server
    knows none, and a start it rejects for them would still reserve the id)."""
    key = id(client)
    if key not in _ATTRS:
        try:
            have = await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=client.namespace)
            )
            _ATTRS[key] = all(k.name in have.custom_attributes for k in temporal.SEARCH_ATTRIBUTES)
        except RPCError:
            _ATTRS[key] = False
    return _ATTRS[key]


async def _start(client: Client, row: WorkflowStart) -> None:
    extra = {}
    if await _supports_attributes(client):
        extra["search_attributes"] = temporal.search_attributes(
            branch_id=row.branch_id, customer_id=row.customer_id, order_id=row.order_id
        )
    try:
        # Never a second run for an id: a workflow that already finished is not started again.
        await client.start_workflow(
            row.workflow_type,
            row.args,
            id=row.workflow_id,
            task_queue=row.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            **extra,
        )
    except WorkflowAlreadyStartedError:
        pass


async def dispatch(client: Client, sessionmaker: Sessionmaker, workflow_ids: list[str]) -> bool:
    """Start the given pending workflows now; True if all started. A failure leaves the row
    pending for the poller. Idempotent."""
    ok = True
    for workflow_id in workflow_ids:
        async with sessionmaker() as session:
            row = await session.scalar(select(WorkflowStart).where(WorkflowStart.workflow_id == workflow_id))
        if row is None or row.status == "started":
            continue
        try:
            await _start(client, row)
            error = None
        except (RPCError, RuntimeError, OSError) as exc:
            ok, error = False, str(exc)[:500]
            log.warning("could not start %s yet: %s", workflow_id, error)
        async with sessionmaker.begin() as session:
            values = {"status": "started", "started_at": utcnow()} if error is None else {"last_error": error}
            await session.execute(
                update(WorkflowStart)
                .where(WorkflowStart.id == row.id)
                .values(attempts=WorkflowStart.attempts + 1, **values)
            )
    return ok


async def start_pending(
    client: Client,
    sessionmaker: Sessionmaker,
    *,
    older_than: timedelta = timedelta(seconds=5),
    limit: int = 100,
) -> int:
    """Start rows still pending after `older_than` (the request's own try gets that long first)."""
    async with sessionmaker() as session:
        ids = list(
            (
                await session.execute(
                    select(WorkflowStart.workflow_id)
                    .where(
                        WorkflowStart.status == "pending", WorkflowStart.created_at <= utcnow() - older_than
                    )
                    .order_by(WorkflowStart.id)
                    .limit(limit)
                )
            ).scalars()
        )
    if ids:
        await dispatch(client, sessionmaker, ids)
    return len(ids)


async def run_poller(client: Client, sessionmaker: Sessionmaker, *, every: float = 2.0) -> None:
    """The worker's loop that starts what requests could not. Runs until cancelled."""
    while True:
        try:
            await start_pending(client, sessionmaker)
        except Exception:  # keep polling: one bad row or a passing outage must not stop it
            log.exception("workflow start poller")
        await asyncio.sleep(every)
