"""Client-side calls into running order workflows, with their refusals turned into 409s."""

from __future__ import annotations

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from backroom.orders.errors import OrderActionRefused
from backroom.orders.flow import OrderState, PaymentSignal, TrackingSignal
from backroom.orders.service import workflow_id


def _reason(exc: BaseException) -> str:
    seen = exc
    while seen is not None:
        if isinstance(seen, ApplicationError):
            return seen.message
        seen = getattr(seen, "cause", None) or seen.__cause__
    return "The order cannot do that now."


async def update(client: Client, order_id: int, name: str, arg, *, prefix: str = "", result_type=OrderState):
    """Send an Update to `order-{id}`; a refusal (validator or failure) raises OrderActionRefused."""
    handle = client.get_workflow_handle(workflow_id(order_id, prefix))
    try:
        return await handle.execute_update(name, arg, result_type=result_type)
    except WorkflowUpdateFailedError as exc:
        raise OrderActionRefused(_reason(exc)) from None
    except RPCError as exc:
        if exc.status in (
            RPCStatusCode.NOT_FOUND,
            RPCStatusCode.FAILED_PRECONDITION,
        ) or "closing workflow" in str(exc):
            raise OrderActionRefused("The order's workflow is no longer running.") from None
        raise


async def state(client: Client, order_id: int, *, prefix: str = "") -> OrderState | None:
    """The workflow's live view, or None when it is not reachable. Read-only."""
    try:
        return await client.get_workflow_handle(workflow_id(order_id, prefix)).query(
            "state", result_type=OrderState
        )
    except RPCError:
        return None


async def signal_payment(client: Client, order_id: int, sig: PaymentSignal, *, prefix: str = "") -> bool:
    try:
        await client.get_workflow_handle(workflow_id(order_id, prefix)).signal("payment_update", sig)
        return True
    except RPCError:
        return False


async def signal_tracking(client: Client, order_id: int, sig: TrackingSignal, *, prefix: str = "") -> bool:
    try:
        await client.get_workflow_handle(workflow_id(order_id, prefix)).signal("tracking", sig)
        return True
    except RPCError:
        return False
