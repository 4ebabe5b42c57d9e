"""Temporal client, data converter, task queue, search attributes and the activity option
sets, shared by every edge. Names and ids follow docs/architecture.md ("Temporal names and
options")."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from types import MappingProxyType

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleAlreadyRunningError,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RetryConfig, RPCError, RPCStatusCode

from backroom.errors import WorkflowServiceUnavailable
from backroom.settings import Settings

# How a use case gets the client: connected on first call, so a request refused before it
# reaches a workflow (not found, forbidden, bad input) never waits on Temporal.
Connect = Callable[[], Awaitable[Client]]

BRANCH_ID = SearchAttributeKey.for_keyword("BranchId")
CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")
ORDER_ID = SearchAttributeKey.for_keyword("OrderId")
SEARCH_ATTRIBUTES = (BRANCH_ID, CUSTOMER_ID, ORDER_ID)

# Activity option sets. A workflow calls every activity as
#   await workflow.execute_activity_method(XActivities.verb, arg, **SHORT_DB_STEP)
# with exactly one of these, so each call has a start_to_close_timeout and a retry policy
# chosen by what the activity talks to. Domain refusals never retry whatever the policy
# (worker/errors.py makes them non-retryable); these policies govern transient failures only.
_DB_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))

# One transaction on our own database (a few rows, an audit event, a notification).
SHORT_DB_STEP = MappingProxyType({"start_to_close_timeout": timedelta(seconds=30), "retry_policy": _DB_RETRY})
# A batch over many rows (the overdue-credit sweep).
LONG_DB_STEP = MappingProxyType({"start_to_close_timeout": timedelta(minutes=5), "retry_policy": _DB_RETRY})
# A person waits on the answer (a cart Update): fail fast and let them try again.
INTERACTIVE_STEP = MappingProxyType(
    {"start_to_close_timeout": timedelta(seconds=15), "retry_policy": RetryPolicy(maximum_attempts=5)}
)
# A payment gateway or carrier over the network: slower, backed off further; the idempotency
# keys the activities send make every retry safe.
GATEWAY_CALL = MappingProxyType(
    {
        "start_to_close_timeout": timedelta(seconds=60),
        "retry_policy": RetryPolicy(
            initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=2)
        ),
    }
)
# Rendering a report snapshot (queries over a period plus CSV/XLSX/PDF): CPU-bound and long;
# a bounded number of attempts so a report that cannot be made is reported, not retried forever.
RENDER_STEP = MappingProxyType(
    {
        "start_to_close_timeout": timedelta(minutes=10),
        "retry_policy": RetryPolicy(maximum_interval=timedelta(minutes=5), maximum_attempts=20),
    }
)
ACTIVITY_OPTIONS = {
    "SHORT_DB_STEP": SHORT_DB_STEP,
    "RENDER_STEP": RENDER_STEP,
    "LONG_DB_STEP": LONG_DB_STEP,
    "INTERACTIVE_STEP": INTERACTIVE_STEP,
    "GATEWAY_CALL": GATEWAY_CALL,
}


def dev_server_args() -> list[str]:
    """`temporal server start-dev` flags that register Backroom's search attributes."""
    return [arg for key in SEARCH_ATTRIBUTES for arg in ("--search-attribute", f"{key.name}=Keyword")]


def search_attributes(
    *, branch_id: int | None = None, customer_id: int | None = None, order_id: int | None = None
) -> TypedSearchAttributes:
    """Search attributes for a workflow start, so the Temporal UI can filter by them."""
    pairs = []
    for key, value in ((BRANCH_ID, branch_id), (CUSTOMER_ID, customer_id), (ORDER_ID, order_id)):
        if value is not None:
            pairs.append(SearchAttributePair(key, str(value)))
    return TypedSearchAttributes(pairs)


# The web app's calls: a person waits, so a Temporal that does not answer is given up on within
# about 2 s (then the request is a 503 with Retry-After) instead of the SDK's default 10 s of
# retries. Workers and the CLI keep the default: nobody waits on them.
REQUEST_RETRY = RetryConfig(
    initial_interval_millis=100, max_interval_millis=600, max_elapsed_time_millis=1500, max_retries=5
)
REQUEST_CONNECT_TIMEOUT = timedelta(seconds=2)
# RPC statuses that mean "Temporal cannot be reached now", never "the workflow said no".
UNREACHABLE = frozenset({RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED})


# The connection broke under a call (the server died or restarted mid-request): gRPC reports it
# as UNKNOWN with this message. Whether the call took effect is unknown, as after any timeout:
# the client retries with its idempotency key.
BROKEN_CONNECTION = "transport error"


def unreachable(exc: BaseException) -> bool:
    """Whether `exc` (or what it wraps) says Temporal is down or not answering. Pure."""
    seen = exc
    while seen is not None:
        if isinstance(seen, RPCError) and seen.status in UNREACHABLE:
            return True
        if (
            isinstance(seen, RPCError)
            and seen.status == RPCStatusCode.UNKNOWN
            and seen.message == BROKEN_CONNECTION
        ):
            return True
        if isinstance(seen, TimeoutError):
            return True
        seen = getattr(seen, "cause", None) or seen.__cause__
    return False


def raise_if_unreachable(exc: BaseException) -> None:
    """Turn "Temporal is down" into WorkflowServiceUnavailable (503 with Retry-After); any other
    error is left to the caller."""
    if unreachable(exc):
        raise WorkflowServiceUnavailable() from exc


async def connect(
    settings: Settings, *, retries: int = 60, retry_config: RetryConfig | None = None
) -> Client:
    """Connect to Temporal, waiting up to `retries` seconds for a server that is starting.
    `retry_config` bounds each later call's retries (REQUEST_RETRY for the web app)."""
    for attempt in range(retries):
        try:
            return await Client.connect(
                settings.temporal_target,
                namespace=settings.temporal_namespace,
                data_converter=pydantic_data_converter,
                retry_config=retry_config,
                connect_timeout=REQUEST_CONNECT_TIMEOUT if retry_config else None,
            )
        except RuntimeError:
            if attempt == retries - 1:
                raise
            await asyncio.sleep(1)
    raise AssertionError("unreachable")


async def ensure_search_attributes(client: Client, namespace: str) -> None:
    """Register Backroom's search attributes on a cluster that lacks them. Idempotent."""
    have = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    missing = {
        k.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        for k in SEARCH_ATTRIBUTES
        if k.name not in have.custom_attributes
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )


async def ensure_schedule(
    client: Client, schedule_id: str, wanted: Schedule, *, run_new: bool = False
) -> bool:
    """Create the Temporal Schedule `schedule_id`, or bring the existing one up to `wanted` in
    place, keeping its state (a pause set in the Temporal UI stays set). Idempotent: never a
    second schedule for an id. With `run_new` a schedule created now also runs once at once.
    Returns whether it was created."""
    try:
        await client.create_schedule(schedule_id, wanted, trigger_immediately=run_new)
        return True
    except ScheduleAlreadyRunningError:
        pass

    def keep_state(current: ScheduleUpdateInput) -> ScheduleUpdate:
        wanted.state = current.description.schedule.state
        return ScheduleUpdate(schedule=wanted)

    await client.get_schedule_handle(schedule_id).update(keep_state)
    return False


def workflow_url(settings: Settings, workflow_id: str) -> str:
    return f"{settings.temporal_ui_url}/namespaces/{settings.temporal_namespace}/workflows/{workflow_id}"
