"""The workflow outbox: a use case queues workflow starts and signals in its own transaction;
after the commit the edge dispatches them, and the worker's poller delivers whatever the first
try could not (Temporal down, a crash between commit and dispatch)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import workflow as wf
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from backroom import temporal
from backroom.db.base import utcnow
from backroom.db.session import Sessionmaker, point_reads
from backroom.starts.models import SignalStatus, StartStatus, WorkflowSignal, WorkflowStart

log = logging.getLogger("backroom.starts")
_ATTRS: dict[int, bool] = {}
_QUEUED = "backroom.outbox"  # key in session.info: what this transaction queued
_LATER = "backroom.outbox.later"  # ...of it, the signals sent after the reply (enqueue_signal)


def workflow_name(run) -> str:
    """The registered name of a workflow, from its run method (or a name given as a string)."""
    if isinstance(run, str):
        return run
    return wf._Definition.must_from_run_fn(run).name


def _queue(session: AsyncSession, row: WorkflowStart | WorkflowSignal, *, later: bool = False) -> None:
    session.info.setdefault(_LATER if later else _QUEUED, []).append(row)


def queued(session: AsyncSession) -> list[WorkflowStart | WorkflowSignal]:
    """What the session's transaction queued to be sent before the reply, in order; cleared by
    `take_queued`."""
    return list(session.info.get(_QUEUED, ()))


def take_queued(session: AsyncSession) -> list[WorkflowStart | WorkflowSignal]:
    """Hand over (and forget) what the committed transaction queued, for dispatch before the reply."""
    return session.info.pop(_QUEUED, [])


def take_later(session: AsyncSession) -> list[WorkflowStart | WorkflowSignal]:
    """Hand over (and forget) the signals the committed transaction queued for after the reply."""
    return session.info.pop(_LATER, [])


def forget_queued(session: AsyncSession) -> None:
    """The transaction rolled back: nothing it queued exists."""
    session.info.pop(_QUEUED, None)
    session.info.pop(_LATER, None)


async def enqueue(
    session: AsyncSession,
    *,
    run: Any,
    arg: BaseModel,
    workflow_id: str,
    task_queue: str | None = None,
    branch_id: int | None = None,
    customer_id: int | None = None,
    order_id: int | None = None,
) -> WorkflowStart:
    """Record that `workflow_id` must run, in the caller's transaction (default task queue
    unless one is named). Idempotent by workflow id."""
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
            status=StartStatus.pending,
            attempts=0,
            created_at=utcnow(),
        )
        session.add(row)
        await session.flush()
    if row.status == StartStatus.pending:
        _queue(session, row)
    return row


async def enqueue_signal(
    session: AsyncSession,
    *,
    workflow_id: str,
    signal: str,
    arg: BaseModel | None = None,
    after_reply: bool = False,
) -> WorkflowSignal:
    """Record a signal for `workflow_id`, sent after the caller's transaction commits: before the
    request's reply, or (`after_reply`, for a signal whose sender needs nothing back from the
    workflow) right after it, so the reply does not wait on Temporal. Not idempotent: each call
    is one more signal."""
    row = WorkflowSignal(
        workflow_id=workflow_id,
        signal=signal,
        args=None if arg is None else arg.model_dump(mode="json"),
        status=SignalStatus.pending,
        attempts=0,
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    _queue(session, row, later=after_reply)
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


async def _start(client: Client, row: WorkflowStart, default_queue: str) -> None:
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
            task_queue=row.task_queue or default_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            **extra,
        )
    except WorkflowAlreadyStartedError:
        pass


async def _signal(client: Client, row: WorkflowSignal) -> SignalStatus:
    handle = client.get_workflow_handle(row.workflow_id)
    try:
        if row.args is None:
            await handle.signal(row.signal)
        else:
            await handle.signal(row.signal, row.args)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:  # finished or never started: nothing to tell
            log.info("signal %s to %s dropped: %s", row.signal, row.workflow_id, exc)
            return SignalStatus.dropped
        raise
    return SignalStatus.delivered


@dataclass
class Outbox:
    """Delivers queued starts and signals. One per process (app or worker)."""

    sessionmaker: Sessionmaker
    default_queue: str
    timeout: float = 3.0  # a request waits at most this long; the poller does the rest
    # What requests delivered is marked in one write per this many seconds, not one per request
    # (well inside the poller's 5 s: a row it finds pending meanwhile is re-sent harmlessly).
    mark_every: float = 0.2
    _unmarked: tuple[list[int], dict[SignalStatus, list[int]]] = field(
        default_factory=lambda: ([], {}), init=False, repr=False
    )
    _marking: asyncio.Task | None = field(default=None, init=False, repr=False)
    _after: set[asyncio.Task] = field(default_factory=set, init=False, repr=False)

    async def dispatch(
        self, client: Client, rows: list[WorkflowStart | WorkflowSignal], *, mark_now: bool = True
    ) -> bool:
        """Deliver committed rows now, in order; True if all went. What fails stays pending for
        the poller. Starts are idempotent by id; signals are marked delivered in one write, now
        or (`mark_now=False`) with other requests' in the next batch."""
        done_starts: list[int] = []
        done_signals: dict[SignalStatus, list[int]] = {}
        ok = True
        blocked: set[str] = set()  # a workflow whose start or signal failed: keep its order
        for row in rows:
            if row.workflow_id in blocked:
                continue
            try:
                if isinstance(row, WorkflowStart):
                    await _start(client, row, self.default_queue)
                    done_starts.append(row.id)
                else:
                    done_signals.setdefault(await _signal(client, row), []).append(row.id)
            except (RPCError, RuntimeError, OSError) as exc:
                ok = False
                blocked.add(row.workflow_id)
                log.warning("could not deliver to %s yet: %s", row.workflow_id, exc)
        if mark_now:
            await self._mark(done_starts, done_signals)
        else:
            self._mark_soon(done_starts, done_signals)
        return ok

    async def dispatch_bounded(self, client_factory, rows: list[WorkflowStart | WorkflowSignal]) -> bool:
        """`dispatch` within `timeout` seconds, for a request path; never raises. The request
        wrote its rows in its own transaction and does not read them back; what it delivered
        is marked in the next batch."""
        if not rows:
            return True
        try:
            async with asyncio.timeout(self.timeout):
                return await self.dispatch(await client_factory(), rows, mark_now=False)
        except Exception as exc:  # Temporal down or slow: the poller delivers later
            log.warning("outbox dispatch deferred to the poller: %s", exc)
            return False

    def dispatch_after_reply(self, client_factory, rows: list[WorkflowStart | WorkflowSignal]) -> None:
        """`dispatch_bounded` in a task of its own, for signals the request's reply does not wait
        on (`enqueue_signal(after_reply=True)`); what does not go, the poller delivers."""
        if not rows:
            return
        task = asyncio.create_task(self.dispatch_bounded(client_factory, rows))
        self._after.add(task)  # held until done: the loop keeps only weak references to tasks
        task.add_done_callback(self._after.discard)

    async def drain(self) -> None:
        """At shutdown: let the signals being sent after replies finish, then mark what went."""
        if self._after:
            await asyncio.gather(*self._after, return_exceptions=True)
        await self.flush()

    def _mark_soon(self, starts: list[int], signals: dict[SignalStatus, list[int]]) -> None:
        unmarked_starts, unmarked_signals = self._unmarked
        unmarked_starts.extend(starts)
        for status, ids in signals.items():
            unmarked_signals.setdefault(status, []).extend(ids)
        if (unmarked_starts or unmarked_signals) and (self._marking is None or self._marking.done()):
            self._marking = asyncio.create_task(self._mark_batch())

    async def _mark_batch(self) -> None:
        while True:  # until a batch finds nothing more delivered while it was being written
            await asyncio.sleep(self.mark_every)
            await self.flush()
            if not any(self._unmarked):
                return

    async def flush(self) -> None:
        """Mark what was delivered but not marked yet (a batch; also at shutdown)."""
        starts, signals = self._unmarked
        self._unmarked = ([], {})
        try:
            await self._mark(starts, signals)
        except Exception:  # the rows stay pending: the poller delivers them again, harmlessly
            log.exception("marking delivered outbox rows")

    async def _mark(self, starts: list[int], signals: dict[SignalStatus, list[int]]) -> None:
        if not starts and not signals:
            return
        now = utcnow()
        async with self.sessionmaker.begin() as session:
            if starts:
                await session.execute(
                    update(WorkflowStart)
                    .where(WorkflowStart.id.in_(starts), WorkflowStart.status == StartStatus.pending)
                    .values(status=StartStatus.started, started_at=now, attempts=WorkflowStart.attempts + 1)
                )
            for status, ids in signals.items():
                await session.execute(
                    update(WorkflowSignal)
                    .where(WorkflowSignal.id.in_(ids), WorkflowSignal.status == SignalStatus.pending)
                    .values(status=status, delivered_at=now, attempts=WorkflowSignal.attempts + 1)
                )

    async def deliver_pending(
        self, client: Client, *, older_than: timedelta = timedelta(seconds=5), limit: int = 100
    ) -> int:
        """Deliver rows still pending after `older_than` (the request's own try gets that long
        first): starts before signals, each in id order. Returns how many were tried."""
        cutoff = utcnow() - older_than
        async with point_reads(self.sessionmaker)() as session:
            starts = list(
                (
                    await session.scalars(
                        select(WorkflowStart)
                        .where(
                            WorkflowStart.status == StartStatus.pending, WorkflowStart.created_at <= cutoff
                        )
                        .order_by(WorkflowStart.id)
                        .limit(limit)
                    )
                ).all()
            )
            signals = list(
                (
                    await session.scalars(
                        select(WorkflowSignal)
                        .where(
                            WorkflowSignal.status == SignalStatus.pending, WorkflowSignal.created_at <= cutoff
                        )
                        .order_by(WorkflowSignal.id)
                        .limit(limit)
                    )
                ).all()
            )
        rows = [*starts, *signals]
        if rows and not await self.dispatch(client, rows):
            await self._count_failures(rows)
        return len(rows)

    async def _count_failures(self, rows: list[WorkflowStart | WorkflowSignal]) -> None:
        async with self.sessionmaker.begin() as session:
            for model in (WorkflowStart, WorkflowSignal):
                ids = [r.id for r in rows if isinstance(r, model)]
                if ids:
                    await session.execute(
                        update(model)
                        .where(model.id.in_(ids), model.status == "pending")
                        .values(attempts=model.attempts + 1, last_error="not delivered yet; retrying")
                    )

    async def run_poller(self, client: Client, *, every: float = 2.0) -> None:
        """The worker's loop that delivers what requests could not. Runs until cancelled."""
        while True:
            try:
                await self.deliver_pending(client)
            except Exception:  # keep polling: one bad row or a passing outage must not stop it
                log.exception("workflow outbox poller")
            await asyncio.sleep(every)


# Kept for callers that hold ids rather than rows (tests, checkout's idempotent repeat).
async def dispatch(
    client: Client, sessionmaker: Sessionmaker, workflow_ids: list[str], *, default_queue: str = ""
) -> bool:
    """Start the given pending workflows now; True if all started. Idempotent."""
    async with point_reads(sessionmaker)() as session:
        rows = list(
            (
                await session.scalars(
                    select(WorkflowStart).where(WorkflowStart.workflow_id.in_(workflow_ids))
                )
            ).all()
        )
    pending = [r for r in rows if r.status == StartStatus.pending]
    return await Outbox(sessionmaker, default_queue).dispatch(client, pending)


async def start_pending(
    client: Client,
    sessionmaker: Sessionmaker,
    *,
    older_than: timedelta = timedelta(seconds=5),
    limit: int = 100,
    default_queue: str = "",
) -> int:
    """Deliver rows still pending after `older_than`. Returns how many were tried."""
    return await Outbox(sessionmaker, default_queue).deliver_pending(
        client, older_than=older_than, limit=limit
    )
