"""A marketplace vendor's own parcels: an order's lines of one vendor ship in the vendor's
parcel (one per shipping branch and vendor, `orders.service.parcel_group`), which the vendor
picks, packs, labels and ships in its panel through the order's workflow, as the warehouse does
the shop's (`orders.control.parcel_step`: a vendor user reaches only its own vendor's parcels,
another's is a 404; staff may act on any of them from the warehouse, on the vendor's behalf).
A vendor that has not shipped within VENDOR_SHIP_DAYS gets an alert raised for staff by the
order's workflow (`raise_late`)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit.context import Actor
from backroom.auth.principal import Principal
from backroom.db.session import end_read
from backroom.errors import Forbidden
from backroom.orders import control
from backroom.orders import service as orders
from backroom.orders.control import WarehouseStep
from backroom.orders.models import Parcel
from backroom.temporal import Connect
from backroom.vendors import service
from backroom.vendors.models import Vendor
from backroom.vendors.schemas import VendorOrderRead

LATE_ALERT = "vendor_late"


class VendorStep(StrEnum):
    """The steps of the vendor panel (`orders.control.VENDOR_STEPS`), for its routes."""

    PICK = WarehouseStep.PICK.value
    PACK = WarehouseStep.PACK.value
    LABEL = WarehouseStep.LABEL.value
    SHIP = WarehouseStep.SHIP.value


async def step(
    session: AsyncSession,
    connect: Connect,
    *,
    p: Principal,
    order_id: int,
    parcel_id: int,
    step: VendorStep,
    prefix: str = "",
    serials: dict[int, list[str]] | None = None,
) -> VendorOrderRead:
    """A vendor user's pick / pack / label (bought on the shop's carrier account, one per
    parcel) / ship of its own parcel, through `orders.control.parcel_step` (the warehouse's use
    case: the workflow refuses a step out of turn). Returns the order as the vendor sees it
    (its lines and parcels; never the payment or another vendor's parcel)."""
    if p.vendor_id is None:
        raise Forbidden("Staff ship a vendor's parcel from the warehouse, on its behalf.")
    await control.parcel_step(
        session,
        connect,
        p=p,
        order_id=order_id,
        parcel_id=parcel_id,
        step=WarehouseStep(step),
        prefix=prefix,
        serials=serials,
    )
    await end_read(session)  # read what the workflow's activity has just committed
    return await service.vendor_order(session, order_id=order_id, vendor_id=p.vendor_id)


async def raise_late(
    session: AsyncSession, *, actor: Actor, order_id: int, parcel_ids: list[int], days: float, key: str
) -> None:
    """The vendors of these parcels did not ship them within `days`: one alert on the order for
    staff (who may ship on the vendor's behalf from the warehouse, or chase the vendor) and a
    timeline entry. Idempotent per key."""
    rows = (
        await session.execute(
            select(Parcel.id, Vendor.name)
            .join(Vendor, Vendor.id == Parcel.vendor_id)
            .where(Parcel.id.in_(parcel_ids or [-1]))
            .order_by(Parcel.id)
        )
    ).all()
    order = await orders.get_order(session, order_id)
    who = ", ".join(f"{name} (parcel {pid})" for pid, name in rows) or "A vendor"
    message = (
        f"{who} did not ship within {days:g} days. Contact the vendor, or ship the parcel on its "
        "behalf from the Warehouse page."
    )
    await orders.alert_order(
        session, actor=actor, order=order, kind=LATE_ALERT, severity="warning", message=message, key=key
    )
