"""Warehouse screen: per-branch queue of parcels to pick, pack, label and ship, with what goes
in each; a printable pick list of the parcels to pick and a packing slip per parcel (PDF)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import READS_ONLY, Session, SettingsDep, TemporalFactory, require
from api.params import Id
from api.ui.common import packing_slip_pdf, parcel_step, pdf_page, redirect, render
from backroom.auth.principal import Principal
from backroom.catalog import service as catalog
from backroom.db.base import utcnow
from backroom.errors import NotFound
from backroom.orders import repository, serials
from backroom.orders.control import WarehouseStep
from backroom.orders.models import Parcel
from backroom.vendors import service as vendors

router = APIRouter(include_in_schema=False)
NAV = [("Warehouse", "/warehouse", ("orders", "submit"), 32)]


@router.get("/warehouse")
async def queue(session: Session, request: Request, p: Principal = require("orders", "submit")):
    """Parcels still to handle in the branches where the user may work, oldest order first."""
    rows = await repository.warehouse_queue(session, branch_ids=p.branch_ids("orders", "submit"))
    picked = [parcel.id for parcel, _ in rows if parcel.status == "picked"]
    return render(
        request,
        "commerce/warehouse.html",
        p,
        rows=rows,
        serial_lines=await serials.needed(session, picked),
        contents=await repository.parcel_lines(session, [parcel.id for parcel, _ in rows]),
        branches=await repository.branch_names(session, {parcel.branch_id for parcel, _ in rows}),
        vendors=await vendors.names(session, {parcel.vendor_id for parcel, _ in rows}),
    )


async def _pick_list(session, p: Principal) -> dict:
    rows = [
        (parcel, order)
        for parcel, order in await repository.warehouse_queue(
            session, branch_ids=p.branch_ids("orders", "submit")
        )
        if parcel.status == "pending" and parcel.vendor_id is None  # vendors pick their own
    ]
    contents = await repository.parcel_lines(session, [parcel.id for parcel, _ in rows])
    branch_of = {parcel.id: parcel.branch_id for parcel, _ in rows}
    wanted = {(line.product_id, branch_of[pid]) for pid, lines in contents.items() for line, _ in lines}
    return {
        "rows": rows,
        "contents": contents,
        "branches": await repository.branch_names(session, {parcel.branch_id for parcel, _ in rows}),
        "bins": await catalog.bins_of(session, wanted),
        "printed_at": utcnow(),
    }


@router.get("/warehouse/pick-list")
async def pick_list(session: Session, request: Request, p: Principal = require("orders", "submit")):
    """Every parcel waiting to be picked in the user's branches: per parcel the items, SKUs,
    quantities and the branch they come from; printable."""
    return render(request, "commerce/pick_list.html", p, **await _pick_list(session, p))


@router.get("/warehouse/pick-list.pdf")
async def pick_list_pdf(session: Session, request: Request, p: Principal = require("orders", "submit")):
    return await pdf_page(
        request, "commerce/pick_list_pdf.html", "pick-list.pdf", **await _pick_list(session, p)
    )


@router.get("/warehouse/orders/{order_id}/parcels/{parcel_id}/packing-slip.pdf")
async def packing_slip(
    session: Session,
    request: Request,
    order_id: Id,
    parcel_id: Id,
    p: Principal = require("orders", "submit"),
):
    """The slip that goes in the box: order number, ship-to, what is in this parcel (no prices)."""
    parcel = await session.get(Parcel, parcel_id)
    if parcel is None or parcel.order_id != order_id:
        raise NotFound(f"Order #{order_id} has no parcel {parcel_id}.")
    p.require("orders", "submit", branch_id=parcel.branch_id)
    return await packing_slip_pdf(request, session, parcel)


@router.post("/warehouse/orders/{order_id}/parcels/{parcel_id}/{step}", dependencies=[READS_ONLY])
async def act(
    request: Request,
    session: Session,
    settings: SettingsDep,
    connect: TemporalFactory,
    order_id: Id,
    parcel_id: Id,
    step: str,
    p: Principal = require("orders", "submit"),
):
    """Pick / pack / label / ship / delivered: the order's workflow decides whether it may.
    Packing carries a serial number per unit of each serial-numbered item (fields
    `serial-{line id}`, one per unit)."""
    try:
        known = WarehouseStep(step)
    except ValueError:
        raise NotFound(f"No warehouse step {step}.") from None
    await parcel_step(
        request, session, connect, settings, p=p, order_id=order_id, parcel_id=parcel_id, step=known
    )
    return redirect("/warehouse", flash=f"Order #{order_id}, parcel {parcel_id}: {step} done.")
