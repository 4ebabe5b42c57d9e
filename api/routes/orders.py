"""Orders API: list, detail with timeline and payments, cancel, refunds, warehouse steps, labels."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from api.deps import READS_ONLY, Session, SettingsDep, TemporalFactory, require
from api.params import Id
from backroom.auth.principal import Principal
from backroom.orders import control
from backroom.orders import service as orders
from backroom.orders.access import order_parcel, visible_order
from backroom.orders.control import WarehouseStep
from backroom.orders.errors import LabelNotFound
from backroom.orders.flow import OrderState, RefundOutcome
from backroom.orders.schemas import (
    CancelRequest,
    OrderDetail,
    OrderFilter,
    OrderRead,
    PackBody,
    RefundRequest,
)
from backroom.pagination import PageRead

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])


@router.get("")
async def list_orders(
    session: Session, filt: Annotated[OrderFilter, Query()], p: Principal = require("orders", "list")
) -> PageRead[OrderRead]:
    page = await orders.list_orders(
        session, filt=filt, branch_ids=p.branch_ids("orders", "list"), vendor_id=p.vendor_id
    )
    return PageRead[OrderRead].of(page, OrderRead)


@router.get("/{order_id:id}")
async def get_order(
    session: Session, settings: SettingsDep, order_id: Id, p: Principal = require("orders", "read")
) -> OrderDetail:
    order = await visible_order(session, p, order_id, "orders", "read")
    return await orders.order_detail(session, order, settings)


@router.post("/{order_id:id}/cancel", dependencies=[READS_ONLY])
async def cancel_order(
    session: Session,
    settings: SettingsDep,
    connect: TemporalFactory,
    order_id: Id,
    body: CancelRequest,
    p: Principal = require("orders", "update"),
) -> OrderState:
    """Cancel before shipment (voids labels and the card hold, releases stock); 409 after."""
    return await control.cancel(
        session, connect, p=p, order_id=order_id, reason=body.reason, prefix=settings.workflow_prefix
    )


@router.post("/{order_id:id}/refunds", dependencies=[READS_ONLY])
async def refund_order(
    session: Session,
    settings: SettingsDep,
    connect: TemporalFactory,
    order_id: Id,
    body: RefundRequest,
    p: Principal = require("payments", "create"),
) -> RefundOutcome:
    """Refund captured money (all that is left when no amount); above the threshold it waits for approval."""
    return await control.refund(
        session,
        connect,
        p=p,
        order_id=order_id,
        amount_minor=body.amount_minor,
        reason=body.reason,
        prefix=settings.workflow_prefix,
    )


def _step_route(step: WarehouseStep, function: str, action: str, doc: str) -> None:
    async def route(
        session: Session,
        settings: SettingsDep,
        connect: TemporalFactory,
        order_id: Id,
        parcel_id: Id,
        p: Principal = require(function, action),
    ) -> OrderState:
        return await control.parcel_step(
            session,
            connect,
            p=p,
            order_id=order_id,
            parcel_id=parcel_id,
            step=step,
            prefix=settings.workflow_prefix,
        )

    route.__doc__ = doc
    router.add_api_route(
        f"/{{order_id}}/parcels/{{parcel_id}}/{step.value}",
        route,
        methods=["POST"],
        dependencies=[READS_ONLY],
        name=f"parcel_{step.value}",
        response_model=OrderState,
    )


@router.post(
    "/{order_id:id}/parcels/{parcel_id:id}/pack",
    dependencies=[READS_ONLY],
    name="parcel_pack",
    response_model=OrderState,
)
async def pack(
    session: Session,
    settings: SettingsDep,
    connect: TemporalFactory,
    order_id: Id,
    parcel_id: Id,
    body: PackBody | None = None,
    p: Principal = require(*control.STEPS[WarehouseStep.PACK][1:]),
) -> OrderState:
    """Record that the parcel was packed, with the serial number of each unit of its
    serial-numbered items (refused, in words, when one is missing, repeated or in use)."""
    return await control.parcel_step(
        session,
        connect,
        p=p,
        order_id=order_id,
        parcel_id=parcel_id,
        step=WarehouseStep.PACK,
        prefix=settings.workflow_prefix,
        serials=body.serials if body else None,
    )


for _step, _doc in (
    (WarehouseStep.PICK, "Record that the parcel was picked."),
    (WarehouseStep.LABEL, "Buy the parcel's shipping label."),
    (WarehouseStep.SHIP, "Record that the parcel left with the carrier."),
    (WarehouseStep.DELIVERED, "Local carrier only (no tracking feed): confirm a parcel was delivered."),
):
    _step_route(_step, *control.STEPS[_step][1:], _doc)


@router.get(
    "/{order_id:id}/parcels/{parcel_id:id}/label.pdf",
    response_class=FileResponse,
    responses={200: {"content": {"application/pdf": {}}, "description": "The 4x6 label."}},
)
async def label_pdf(
    session: Session, order_id: Id, parcel_id: Id, p: Principal = require("shipping", "read")
):
    """The parcel's 4x6 label as PDF."""
    parcel = await order_parcel(session, p, order_id, parcel_id, "shipping", "read", missing=LabelNotFound)
    if not parcel.label_path or not Path(parcel.label_path).is_file():  # noqa: ASYNC240 (one stat)
        raise LabelNotFound("No label was bought for this parcel yet.")
    return FileResponse(
        parcel.label_path,
        media_type="application/pdf",
        filename=f"label-order{order_id}-parcel{parcel_id}.pdf",
    )
