"""Orders API: list, detail with timeline and payments, cancel, refunds, warehouse steps, labels."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Session, require
from backroom import temporal
from backroom.auth.principal import Principal
from backroom.errors import Forbidden
from backroom.orders import control
from backroom.orders import service as orders
from backroom.orders.checkout import end_transaction
from backroom.orders.errors import LabelNotFound, OrderNotFound
from backroom.orders.flow import CancelAsk, ParcelAction, RefundAsk, RefundOutcome
from backroom.orders.models import Order, Parcel
from backroom.orders.schemas import (
    CancelRequest,
    OrderDetail,
    OrderFilter,
    OrderLineRead,
    OrderRead,
    ParcelRead,
    RefundRequest,
)

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])

# Warehouse steps: Update name and the permission it needs in the parcel's branch.
STEPS = {
    "pick": ("pick", "orders", "submit"),
    "pack": ("pack", "orders", "submit"),
    "label": ("buy_label", "shipping", "create"),
    "ship": ("ship", "orders", "submit"),
    "delivered": ("mark_delivered", "shipping", "update"),
}


async def visible_order(
    session: AsyncSession, p: Principal, order_id: int, function: str, action: str
) -> Order:
    """The order if the caller may act on it here (branch, vendor); 404 hides others' orders."""
    order = await orders.get_order(session, order_id)
    if p.vendor_id is not None:
        if not any(ln.vendor_id == p.vendor_id for ln in await orders.lines_of(session, order_id)):
            raise OrderNotFound(f"Order {order_id} does not exist.")
    branches = {order.branch_id} | {pc.branch_id for pc in await orders.parcels_of(session, order_id)}
    if not any(p.can(function, action, b) for b in branches):
        raise Forbidden(f"You may not {action} {function} for this order's branches.")
    return order


async def order_detail(session: AsyncSession, order: Order, settings) -> dict:
    lines = await orders.lines_of(session, order.id)
    parcels = await orders.parcels_of(session, order.id)
    detail = OrderDetail(
        **OrderRead.model_validate(order).model_dump(),
        lines=[OrderLineRead.model_validate(x) for x in lines],
        parcels=[ParcelRead.model_validate(x) for x in parcels],
    )
    return {
        **detail.model_dump(mode="json"),
        "events": [
            {"at": e.at.isoformat(), "kind": e.kind, "message": e.message, "actor": e.actor_name}
            for e in await orders.events_of(session, order.id)
        ],
        "payments": [
            {
                "kind": e.kind,
                "status": e.status,
                "amount_minor": e.amount_minor,
                "intent_id": e.intent_id,
                "gateway_ref": e.gateway_ref,
                "at": e.created_at.isoformat(),
            }
            for e in await orders.payments_of(session, order.id)
        ],
        "workflow_url": temporal.workflow_url(
            settings, orders.workflow_id(order.id, settings.workflow_prefix)
        ),
    }


@router.get("")
async def list_orders(
    session: Session, filt: Annotated[OrderFilter, Query()], p: Principal = require("orders", "list")
):
    page = await orders.list_orders(
        session, filt=filt, branch_ids=p.branch_ids("orders", "list"), vendor_id=p.vendor_id
    )
    return {
        "items": [OrderRead.model_validate(o).model_dump(mode="json") for o in page.items],
        "next_cursor": page.next_cursor,
    }


@router.get("/{order_id}")
async def get_order(
    session: Session, request: Request, order_id: int, p: Principal = require("orders", "read")
):
    order = await visible_order(session, p, order_id, "orders", "read")
    return await order_detail(session, order, request.app.state.settings)


async def _client(request: Request):
    return await request.app.state.temporal.client()


@router.post("/{order_id}/cancel")
async def cancel_order(
    session: Session,
    request: Request,
    order_id: int,
    body: CancelRequest,
    p: Principal = require("orders", "update"),
):
    """Cancel before shipment (voids labels and the card hold, releases stock); 409 after."""
    order = await visible_order(session, p, order_id, "orders", "update")
    await end_transaction(session)
    st = await control.update(
        await _client(request),
        order.id,
        "cancel",
        CancelAsk(reason=body.reason, user_id=p.user_id, user_name=p.full_name),
        prefix=request.app.state.settings.workflow_prefix,
    )
    return st.model_dump(mode="json")


@router.post("/{order_id}/refunds")
async def refund_order(
    session: Session,
    request: Request,
    order_id: int,
    body: RefundRequest,
    p: Principal = require("payments", "create"),
):
    """Refund captured money (all that is left when no amount); above the threshold it waits for approval."""
    order = await visible_order(session, p, order_id, "payments", "create")
    await end_transaction(session)
    out = await control.update(
        await _client(request),
        order.id,
        "refund",
        RefundAsk(
            amount_minor=body.amount_minor, reason=body.reason, user_id=p.user_id, user_name=p.full_name
        ),
        prefix=request.app.state.settings.workflow_prefix,
        result_type=RefundOutcome,
    )
    return out.model_dump(mode="json")


async def parcel_step(
    request: Request, session: AsyncSession, p: Principal, order_id: int, parcel_id: int, step: str
):
    update_name, function, action = STEPS[step]
    parcel = await session.get(Parcel, parcel_id)
    if parcel is None or parcel.order_id != order_id:
        raise OrderNotFound(f"Parcel {parcel_id} is not part of order {order_id}.")
    p.require(function, action, branch_id=parcel.branch_id)
    await end_transaction(session)
    return await control.update(
        await _client(request),
        order_id,
        update_name,
        ParcelAction(parcel_id=parcel_id, user_id=p.user_id, user_name=p.full_name),
        prefix=request.app.state.settings.workflow_prefix,
    )


@router.post("/{order_id}/parcels/{parcel_id}/pick")
async def pick(
    session: Session,
    request: Request,
    order_id: int,
    parcel_id: int,
    p: Principal = require("orders", "submit"),
):
    return (await parcel_step(request, session, p, order_id, parcel_id, "pick")).model_dump(mode="json")


@router.post("/{order_id}/parcels/{parcel_id}/pack")
async def pack(
    session: Session,
    request: Request,
    order_id: int,
    parcel_id: int,
    p: Principal = require("orders", "submit"),
):
    return (await parcel_step(request, session, p, order_id, parcel_id, "pack")).model_dump(mode="json")


@router.post("/{order_id}/parcels/{parcel_id}/label")
async def buy_label(
    session: Session,
    request: Request,
    order_id: int,
    parcel_id: int,
    p: Principal = require("shipping", "create"),
):
    return (await parcel_step(request, session, p, order_id, parcel_id, "label")).model_dump(mode="json")


@router.post("/{order_id}/parcels/{parcel_id}/ship")
async def ship(
    session: Session,
    request: Request,
    order_id: int,
    parcel_id: int,
    p: Principal = require("orders", "submit"),
):
    return (await parcel_step(request, session, p, order_id, parcel_id, "ship")).model_dump(mode="json")


@router.post("/{order_id}/parcels/{parcel_id}/delivered")
async def delivered(
    session: Session,
    request: Request,
    order_id: int,
    parcel_id: int,
    p: Principal = require("shipping", "update"),
):
    """Local carrier only (no tracking feed): confirm a parcel was delivered."""
    return (await parcel_step(request, session, p, order_id, parcel_id, "delivered")).model_dump(mode="json")


@router.get("/{order_id}/parcels/{parcel_id}/label.pdf")
async def label_pdf(
    session: Session, order_id: int, parcel_id: int, p: Principal = require("shipping", "read")
):
    """The parcel's 4x6 label as PDF."""
    parcel = await session.get(Parcel, parcel_id)
    if parcel is None or parcel.order_id != order_id:
        raise LabelNotFound(f"Parcel {parcel_id} is not part of order {order_id}.")
    p.require("shipping", "read", branch_id=parcel.branch_id)
    if not parcel.label_path or not Path(parcel.label_path).is_file():  # noqa: ASYNC240 (one stat)
        raise LabelNotFound("No label was bought for this parcel yet.")
    return FileResponse(
        parcel.label_path,
        media_type="application/pdf",
        filename=f"label-order{order_id}-parcel{parcel_id}.pdf",
    )
