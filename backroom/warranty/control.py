"""Client-side calls into running warranty workflows, with their refusals turned into 409s."""

from __future__ import annotations

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from backroom.aftersales.control import reason
from backroom.warranty.errors import WarrantyStateError
from backroom.warranty.flow import WarrantyChange, WarrantyState
from backroom.warranty.models import Warranty


async def send_change(client: Client, w: Warranty, change: WarrantyChange) -> WarrantyState:
    """Extend, transfer or void through the `change` Update; returns once the record shows it."""
    handle = client.get_workflow_handle(w.workflow_id)
    try:
        return await handle.execute_update("change", change, result_type=WarrantyState)
    except WorkflowUpdateFailedError as exc:
        raise WarrantyStateError(reason(exc, "The warranty cannot change now.")) from None
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION) or "closing" in str(
            exc
        ):
            raise WarrantyStateError(f"Warranty #{w.id} is no longer running (expired or voided).") from None
        raise
