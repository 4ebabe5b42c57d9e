"""Staff actions on running orders (cancel, refund, warehouse steps) and the client-side calls
into order workflows, with their refusals turned into 409s. The API and the staff pages share
these use cases.

The actions only read (authorization) and then wait on the order workflow's Update, whose
activities write: call them with a session that holds no write transaction (the edge's
READS_ONLY session), or on SQLite they would wait for the lock the caller holds."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from backroom.auth.principal import Principal
from backroom.errors import InvalidInput
from backroom.orders import serials as unit_serials
from backroom.orders.access import order_parcel, visible_order
from backroom.orders.errors import OrderActionRefused, OrderNotFound
from backroom.orders.flow import CancelAsk, OrderState, ParcelAction, RefundAsk, RefundOutcome, cancel_refusal
from backroom.orders.service import parcels_of, workflow_id
from backroom.temporal import Connect, raise_if_unreachable


class WarehouseStep(StrEnum):
    PICK = "pick"
    PACK = "pack"
    LABEL = "label"
    SHIP = "ship"
    DELIVERED = "delivered"


# Each step: the order workflow's Update and the permission it needs in the parcel's branch.
STEPS: dict[WarehouseStep, tuple[str, str, str]] = {
    WarehouseStep.PICK: ("pick", "orders", "submit"),
    WarehouseStep.PACK: ("pack", "orders", "submit"),
    WarehouseStep.LABEL: ("buy_label", "shipping", "create"),
    WarehouseStep.SHIP: ("ship", "orders", "submit"),
    WarehouseStep.DELIVERED: ("mark_delivered", "shipping", "update"),
}
# What a marketplace vendor does to its own parcels (backroom/vendors/parcels.py).
VENDOR_STEPS = (WarehouseStep.PICK, WarehouseStep.PACK, WarehouseStep.LABEL, WarehouseStep.SHIP)


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
        raise_if_unreachable(exc)
        if exc.status in (
            RPCStatusCode.NOT_FOUND,
            RPCStatusCode.FAILED_PRECONDITION,
        ) or "closing workflow" in str(exc):
            raise OrderActionRefused("The order's workflow is no longer running.") from None
        raise


async def cancel(
    session: AsyncSession, connect: Connect, *, p: Principal, order_id: int, reason: str, prefix: str = ""
) -> OrderState:
    """Cancel before shipment (the workflow voids labels and the card hold, releases stock);
    refused (409) after. The workflow refuses a repeat."""
    order = await visible_order(session, p, order_id, "orders", "update")
    refusal = cancel_refusal(order.status, [pc.status for pc in await parcels_of(session, order.id)])
    if refusal:  # the workflow refuses it too; say so without asking it
        raise OrderActionRefused(refusal)
    ask = CancelAsk(reason=reason, user_id=p.user_id, user_name=p.full_name)
    return await update(await connect(), order.id, "cancel", ask, prefix=prefix)


async def refund(
    session: AsyncSession,
    connect: Connect,
    *,
    p: Principal,
    order_id: int,
    amount_minor: int | None,
    reason: str,
    prefix: str = "",
) -> RefundOutcome:
    """Refund captured money (all that is left when no amount); above the threshold the workflow
    waits for approval. Each call is one more refund request."""
    order = await visible_order(session, p, order_id, "payments", "create")
    ask = RefundAsk(amount_minor=amount_minor, reason=reason, user_id=p.user_id, user_name=p.full_name)
    return await update(await connect(), order.id, "refund", ask, prefix=prefix, result_type=RefundOutcome)


def step_permission(p: Principal, step: WarehouseStep) -> tuple[str, str]:
    """The (function, action) a step needs in the parcel's branch: the warehouse's for staff;
    ("vendors", "submit") for a marketplace vendor's user, who picks, packs, labels and ships
    its own parcels ("delivered", for the local carrier, stays with the shop: a 404)."""
    if p.vendor_id is None:
        return STEPS[step][1:]
    if step not in VENDOR_STEPS:
        raise OrderNotFound(f"A vendor's parcel has no step {step.value!r}.")
    return "vendors", "submit"


async def parcel_step(
    session: AsyncSession,
    connect: Connect,
    *,
    p: Principal,
    order_id: int,
    parcel_id: int,
    step: WarehouseStep,
    prefix: str = "",
    serials: dict[int, list[str]] | None = None,
) -> OrderState:
    """Pick / pack / label / ship / delivered for one parcel: authorized in the parcel's branch
    (a vendor user: only its own vendor's parcels, anything else is a 404; staff: any, a
    vendor's on its behalf), then the order's workflow decides whether it may happen now (a
    repeat is refused). Packing needs the serial number of each unit of a serial-tracked
    product (checked here first)."""
    await order_parcel(session, p, order_id, parcel_id, *step_permission(p, step), own=True)
    given = {}
    if step == WarehouseStep.PACK:
        given = await unit_serials.check(session, parcel_id=parcel_id, serials=serials)
    elif serials:
        raise InvalidInput("Serial numbers are entered when packing.", field="serials")
    ask = ParcelAction(parcel_id=parcel_id, user_id=p.user_id, user_name=p.full_name, serials=given)
    return await update(await connect(), order_id, STEPS[step][0], ask, prefix=prefix)
