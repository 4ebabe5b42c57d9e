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
from backroom.orders import service as orders
from backroom.orders.control import WarehouseStep
from backroom.orders.models import Parcel
from backroom.vendors.models import Vendor

LATE_ALERT = "vendor_late"


class VendorStep(StrEnum):
    """The steps of the vendor panel (`orders.control.VENDOR_STEPS`), for its routes."""

    PICK = WarehouseStep.PICK.value
    PACK = WarehouseStep.PACK.value
    LABEL = WarehouseStep.LABEL.value
    SHIP = WarehouseStep.SHIP.value


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
