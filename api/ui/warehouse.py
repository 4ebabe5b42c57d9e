"""Warehouse screen: per-branch queue of parcels to pick, pack, label and ship."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import READS_ONLY, Session, SettingsDep, TemporalFactory, require
from api.params import Id
from api.ui.common import redirect, render
from backroom.auth.principal import Principal
from backroom.errors import NotFound
from backroom.orders import control, repository, serials
from backroom.orders.control import WarehouseStep

router = APIRouter(include_in_schema=False)
NAV = [("Warehouse", "/warehouse", ("orders", "submit"), 32)]


@router.get("/warehouse")
async def queue(session: Session, request: Request, p: Principal = require("orders", "submit")):
    """Parcels still to handle in the branches where the user may work, oldest order first."""
    rows = await repository.warehouse_queue(session, branch_ids=p.branch_ids("orders", "submit"))
    picked = [parcel.id for parcel, _ in rows if parcel.status == "picked"]
    return render(
        request, "commerce/warehouse.html", p, rows=rows, serial_lines=await serials.needed(session, picked)
    )


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
    given = None
    if known == WarehouseStep.PACK:
        form = await request.form()
        given = {
            int(k.removeprefix("serial-")): [str(v)[:100] for v in form.getlist(k)]
            for k in form
            if k.startswith("serial-") and k.removeprefix("serial-").isdigit()
        }
    await control.parcel_step(
        session,
        connect,
        p=p,
        order_id=order_id,
        parcel_id=parcel_id,
        step=known,
        prefix=settings.workflow_prefix,
        serials=given,
    )
    return redirect("/warehouse", flash=f"Order #{order_id}, parcel {parcel_id}: {step} done.")
