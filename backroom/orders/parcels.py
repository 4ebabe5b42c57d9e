"""Parcels: the state machine a parcel moves through, the box it ships in, and what each step
writes (status, stock, timeline). Activities call these between carrier calls."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit.context import Actor
from backroom.branches.models import Branch
from backroom.catalog import service as catalog
from backroom.errors import not_found
from backroom.orders import serials as unit_serials
from backroom.orders import service as orders
from backroom.orders.errors import OrderActionRefused
from backroom.orders.flow import LabelResult
from backroom.orders.models import Order, OrderLine, Parcel, ParcelStatus
from backroom.shipping.boxes import STANDARD_MM
from backroom.shipping.carrier import Address, Label
from backroom.shipping.carrier import Parcel as ShipParcel
from backroom.shipping.errors import LabelNotFound

P = ParcelStatus
# The parcel state machine: each status and the statuses it may be reached from.
ALLOWED_FROM: dict[ParcelStatus, tuple[ParcelStatus, ...]] = {
    P.PICKED: (P.PENDING,),
    P.PACKED: (P.PICKED,),
    P.LABELLED: (P.PACKED,),
    P.SHIPPED: (P.LABELLED,),
    P.DELIVERED: (P.SHIPPED,),
    # An unused label is voided (and a parcel not yet labelled dropped) when an order is undone.
    P.VOIDED: (P.LABELLED, P.PACKED, P.PICKED, P.PENDING),
}
# The steps people (or auto-fulfilment) record one by one; labelling and voiding have their own.
STEPS = (P.PICKED, P.PACKED, P.SHIPPED, P.DELIVERED)

# Weight below 100 g is billed as 100 g.
MIN_WEIGHT_G = 100


def allowed_from(to: str) -> tuple[ParcelStatus, ...]:
    try:
        return ALLOWED_FROM[ParcelStatus(to)]
    except (ValueError, KeyError):
        raise OrderActionRefused(f"A parcel cannot be moved to {to!r}.") from None


def shipping_box(parcel: Parcel) -> ShipParcel:
    """What the carrier quotes: the parcel's own box (from the products packed at checkout) and
    weight; parcels recorded before boxes were measured ship in the standard box."""
    length, width, height = (
        (parcel.length_mm, parcel.width_mm, parcel.height_mm) if parcel.length_mm else STANDARD_MM
    )
    return ShipParcel(
        weight_grams=max(parcel.weight_g, MIN_WEIGHT_G), length_mm=length, width_mm=width, height_mm=height
    )


def ship_from(settings, branch: Branch) -> Address:
    return Address(
        name=branch.name,
        company="Backroom",
        street1=settings.ship_from_street,
        city=settings.ship_from_city,
        postal_code=settings.ship_from_postcode,
        country=settings.ship_from_country,
    )


def ship_to(order: Order) -> Address:
    return Address(
        name=order.ship_name,
        street1=order.ship_line1,
        city=order.ship_city,
        postal_code=order.ship_postcode,
        country=order.ship_country,
        email=order.email,
    )


def label_key(parcel_id: int) -> str:
    """The carrier idempotency key of a parcel's label: one label per parcel, whatever retries."""
    return f"parcel-{parcel_id}:label"


async def get_parcel(session: AsyncSession, parcel_id: int) -> Parcel:
    parcel = await session.get(Parcel, parcel_id)
    if parcel is None:
        raise not_found("Parcel", parcel_id)
    return parcel


async def label_context(session: AsyncSession, *, order_id: int, parcel_id: int):
    """(parcel, order, shipping branch) for quoting or buying a label. Read-only."""
    parcel = await get_parcel(session, parcel_id)
    order = await orders.get_order(session, order_id)
    branch = await session.get(Branch, parcel.branch_id)
    return parcel, order, branch


def stored_label(parcel: Parcel) -> LabelResult | None:
    """The label an earlier attempt already bought for the parcel, if any."""
    if not parcel.label_id:
        return None
    return LabelResult(
        parcel_id=parcel.id,
        label_id=parcel.label_id,
        tracking_number=parcel.tracking_number,
        carrier=parcel.carrier or "",
        service=parcel.service or "",
        rate_minor=parcel.rate_minor or 0,
    )


async def save_label_pdf(settings, parcel_id: int, pdf: bytes) -> str:
    """Keep the label's PDF under var/labels (overwritten by a retry: same parcel, same label)."""
    folder = Path(settings.var_dir) / "labels"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"parcel-{parcel_id}.pdf"
    await asyncio.to_thread(path.write_bytes, pdf)
    return str(path)


async def record_step(
    session: AsyncSession,
    *,
    actor: Actor,
    order_id: int,
    parcel_id: int,
    step: str,
    user_name: str | None = None,
    serials: dict[int, list[str]] | None = None,
) -> Parcel | None:
    """Record picked/packed/shipped/delivered; packing records the units' serial numbers (a
    serial in use elsewhere refuses the step), shipping takes the reserved stock out.
    Idempotent: a step already recorded returns None and writes nothing."""
    if step not in STEPS:
        raise OrderActionRefused(f"{step!r} is not a parcel step.")
    parcel = await orders.update_parcel(
        session, actor=actor, parcel_id=parcel_id, to=step, allowed_from=allowed_from(step)
    )
    if parcel is None:
        return None
    if step == P.PACKED and serials:
        await unit_serials.record(
            session, actor=actor, order_id=order_id, parcel_id=parcel.id, serials=serials, user_name=user_name
        )
    if step == P.SHIPPED:
        # This parcel's units only: its branch may ship others of the order (a vendor's parcel).
        # A parcel whose lines were never linked to it ships what the branch holds for the order.
        packed = set(
            await session.scalars(select(OrderLine.product_id).where(OrderLine.parcel_id == parcel.id))
        )
        await catalog.ship_reserved(
            session, actor=actor, order_id=order_id, branch_id=parcel.branch_id, product_ids=packed or None
        )
    tracking = f" ({parcel.tracking_number})" if step == P.SHIPPED else ""
    await orders.add_event(
        session,
        order_id=order_id,
        kind=f"parcel_{step}",
        message=f"Parcel {parcel.id} {step}{tracking}.",
        actor_name=user_name,
    )
    return parcel


async def record_label(
    session: AsyncSession,
    *,
    actor: Actor,
    order_id: int,
    parcel_id: int,
    label: Label,
    label_path: str | None,
) -> LabelResult:
    """Store a bought label on the packed parcel with a timeline entry. Idempotent."""
    done = await orders.update_parcel(
        session,
        actor=actor,
        parcel_id=parcel_id,
        to=P.LABELLED,
        allowed_from=allowed_from(P.LABELLED),
        carrier=label.carrier,
        service=label.service,
        rate_minor=label.amount_minor,
        rate_currency=label.currency,
        label_id=label.label_id,
        label_key=label_key(parcel_id),
        label_path=label_path or label.label_url,
        tracking_number=label.tracking_number,
    )
    if done is not None:
        await orders.add_event(
            session,
            order_id=order_id,
            kind="label_purchased",
            message=f"Label bought for parcel {parcel_id}: {label.carrier} {label.service}, "
            f"tracking {label.tracking_number}.",
        )
    return LabelResult(
        parcel_id=parcel_id,
        label_id=label.label_id,
        tracking_number=label.tracking_number,
        carrier=label.carrier,
        service=label.service,
        rate_minor=label.amount_minor,
    )


def label_to_void(parcel: Parcel) -> str | None:
    """The carrier label to void before the parcel is dropped: only one bought and unused."""
    return parcel.label_id if parcel.label_id and parcel.status == P.LABELLED else None


async def void_at_carrier(carrier, label_id: str) -> None:
    """Void the label at the carrier. One the carrier no longer knows counts as voided, so a
    compensation that is retried (or raced by the carrier's own expiry) still completes."""
    try:
        await carrier.void_label(label_id)
    except LabelNotFound:
        pass


async def record_void(session: AsyncSession, *, actor: Actor, order_id: int, parcel_id: int) -> None:
    """Mark the parcel voided (its label, if any, was voided at the carrier). Idempotent."""
    done = await orders.update_parcel(
        session, actor=actor, parcel_id=parcel_id, to=P.VOIDED, allowed_from=allowed_from(P.VOIDED)
    )
    if done is not None:
        await orders.add_event(
            session, order_id=order_id, kind="label_voided", message=f"Label of parcel {parcel_id} voided."
        )
