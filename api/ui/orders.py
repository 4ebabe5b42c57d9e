"""Staff order pages: list, and the order page with timeline, payments, parcels, labels,
alerts, a link to the workflow in the Temporal UI and the audit trail."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import ValidationError

from api.deps import READS_ONLY, Session, SettingsDep, TemporalFactory, require
from api.params import Id
from api.ui.common import parse_filter, parse_form, redirect, render
from api.validation import messages, summary
from backroom import temporal
from backroom.audit import service as audit
from backroom.auth.principal import Principal
from backroom.branches import service as branches_svc
from backroom.errors import InvalidInput
from backroom.money import parse_money
from backroom.orders import control
from backroom.orders import service as orders
from backroom.orders.access import visible_order
from backroom.orders.flow import cancellable
from backroom.orders.models import OrderStatus
from backroom.orders.schemas import CancelRequest, OrderFilter, RefundRequest
from backroom.vendors import service as vendors

router = APIRouter(include_in_schema=False)
NAV = [("Orders", "/orders", ("orders", "list"), 31)]


@router.get("/orders")
async def order_list(session: Session, request: Request, p: Principal = require("orders", "list")):
    filt = parse_filter(request, OrderFilter)
    page = await orders.list_orders(
        session, filt=filt, branch_ids=p.branch_ids("orders", "list"), vendor_id=p.vendor_id
    )
    return render(request, "commerce/orders.html", p, page=page, filt=filt, statuses=list(OrderStatus))


@router.get("/orders/{order_id}")
async def order_page(
    session: Session,
    settings: SettingsDep,
    request: Request,
    order_id: Id,
    p: Principal = require("orders", "read"),
):
    order = await visible_order(session, p, order_id, "orders", "read")
    trail = (
        await audit.trail(
            session, entity_type="order", entity_id=order.id, may_read=p.reader(order.branch_id)
        )
        if p.can("audit", "read") or p.can("orders", "read", order.branch_id)
        else []
    )
    parcels = await orders.parcels_of(session, order.id)
    return render(
        request,
        "commerce/order.html",
        p,
        order=order,
        lines=await orders.lines_of(session, order.id),
        parcels=parcels,
        branch_names={b.id: b.name for b in await branches_svc.list_branches(session)},
        vendors=await vendors.names(session, {pc.vendor_id for pc in parcels}),
        cancellable=cancellable(order.status, [pc.status for pc in parcels]),
        events=await orders.events_of(session, order.id),
        payments=await orders.payments_of(session, order.id),
        alerts=await orders.open_alerts(session, subject_type="order", subject_id=str(order.id)),
        trail=trail,
        workflow_url=temporal.workflow_url(settings, orders.workflow_id(order.id, settings.workflow_prefix)),
    )


@router.post("/orders/{order_id}/cancel", dependencies=[READS_ONLY])
async def cancel(
    session: Session,
    settings: SettingsDep,
    connect: TemporalFactory,
    request: Request,
    order_id: Id,
    p: Principal = require("orders", "update"),
):
    body, _errors, _ = await parse_form(request, CancelRequest)
    if body is None:
        raise InvalidInput("Give a reason (up to 300 characters) to cancel.", field="reason")
    st = await control.cancel(
        session, connect, p=p, order_id=order_id, reason=body.reason, prefix=settings.workflow_prefix
    )
    return redirect(f"/orders/{order_id}", flash=f"Order is {st.status}.")


@router.post("/orders/{order_id}/refund", dependencies=[READS_ONLY])
async def refund(
    session: Session,
    settings: SettingsDep,
    connect: TemporalFactory,
    request: Request,
    order_id: Id,
    p: Principal = require("payments", "create"),
):
    form = await request.form()
    data = {"reason": form.get("reason") or None}
    if form.get("amount"):
        currency = (await orders.get_order(session, order_id)).currency  # typed in the order's money
        try:
            data["amount_minor"] = parse_money(str(form.get("amount")), currency)
        except ValueError as exc:  # parse_money's words: "... has more decimals than JPY allows"
            raise InvalidInput(str(exc), field="amount") from None
    try:
        body = RefundRequest.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(summary(messages(exc, fields={"amount_minor": "amount"}))) from None
    out = await control.refund(
        session,
        connect,
        p=p,
        order_id=order_id,
        amount_minor=body.amount_minor,
        reason=body.reason,
        prefix=settings.workflow_prefix,
    )
    return redirect(
        f"/orders/{order_id}", flash="Refunded." if out.status == "refunded" else "Refund sent for approval."
    )
