"""Client-side calls into running case workflows, with their refusals turned into 409s."""

from __future__ import annotations

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from backroom.aftersales.errors import CaseStateError
from backroom.aftersales.flow import CaseAction, CaseView
from backroom.aftersales.models import RmaCase


def reason(exc: BaseException, default: str) -> str:
    """The validator's or activity's own words, from an Update failure chain."""
    seen = exc
    while seen is not None:
        message = getattr(seen, "message", None)
        if message and not isinstance(seen, WorkflowUpdateFailedError):
            return message
        seen = getattr(seen, "cause", None) or seen.__cause__
    return default


async def send_step(client: Client, case: RmaCase, step: CaseAction) -> CaseView:
    """Send a person's step as the `act` Update; a refusal raises CaseStateError (409)."""
    handle = client.get_workflow_handle(case.workflow_id)
    try:
        return await handle.execute_update("act", step, result_type=CaseView)
    except WorkflowUpdateFailedError as exc:
        raise CaseStateError(reason(exc, "The case cannot do that now.")) from None
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION) or "closing" in str(
            exc
        ):
            raise CaseStateError(f"Case #{case.id} is no longer running.") from None
        raise


async def view(client: Client, case: RmaCase) -> CaseView | None:
    """The workflow's live view, or None when it is not reachable. Read-only."""
    try:
        return await client.get_workflow_handle(case.workflow_id).query("view", result_type=CaseView)
    except RPCError:
        return None
