"""Warehouse screen: per-branch queue of parcels to pick, pack, label and ship."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from api.deps import Session, require
from api.routes.orders import STEPS, parcel_step
from api.ui.common import redirect, render
from backroom.auth.principal import Principal
from backroom.errors import NotFound
from backroom.orders.models import Order, Parcel

router = APIRouter()
NAV = [("Warehouse", "/warehouse", ("orders", "submit"), 32)]
OPEN = ("picking", "packed", "label_purchased", "shipped", "partially_refunded")


@router.get("/warehouse")
async def queue(session: Session, request: Request, p: Principal = require("orders", "submit")):
    """Parcels still to handle in the branches where the user may work, oldest order first."""
    stmt = (
        select(Parcel, Order)
        .join(Order, Order.id == Parcel.order_id)
        .where(
            Order.status.in_(OPEN), Parcel.status.in_(("pending", "picked", "packed", "labelled", "shipped"))
        )
        .order_by(Order.placed_at, Parcel.id)
        .limit(200)
    )
    branches = p.branch_ids("orders", "submit")
    if branches is not None:
        stmt = stmt.where(Parcel.branch_id.in_(branches or {-1}))
    rows = (await session.execute(stmt)).all()
    return render(request, "commerce/warehouse.html", p, rows=rows)


@router.post("/warehouse/orders/{order_id}/parcels/{parcel_id}/{step}")
async def act(
    session: Session,
    request: Request,
    order_id: int,
    parcel_id: int,
    step: str,
    p: Principal = require("orders", "submit"),
):
    """Pick / pack / label / ship / delivered: the order's workflow decides whether it may."""
    if step not in STEPS:
        raise NotFound(f"No warehouse step {step}.")
    await parcel_step(request, session, p, order_id, parcel_id, step)
    return redirect("/warehouse", flash=f"Order #{order_id}, parcel {parcel_id}: {step} done.")
