"""Serial numbers of packed units: when the warehouse packs a parcel it enters (or scans) one
serial per unit of each serial-tracked product in it; the warranty registered at delivery
carries the unit's serial. A serial belongs to one unit of a product only: one packed in an
earlier order, or registered by hand for an in-store sale, is refused."""

from __future__ import annotations

from sqlalchemy import select, true
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.catalog.models import Product
from backroom.errors import InvalidInput, Refused
from backroom.orders.models import OrderLine, UnitSerial
from backroom.orders.repository import parcel_lines


async def needed(session: AsyncSession, parcel_ids: list[int]) -> dict[int, list[tuple[OrderLine, Product]]]:
    """The serial-tracked lines of each parcel (parcel id -> [(line, product)]). Read-only."""
    return await parcel_lines(session, parcel_ids, serial_tracked_only=True)


def clean(serials: dict[int, list[str]] | None) -> dict[int, list[str]]:
    """Serials as typed or scanned: trimmed, blanks dropped. Pure."""
    out = {}
    for line_id, values in (serials or {}).items():
        kept = [v.strip() for v in values if v and v.strip()]
        if kept:
            out[int(line_id)] = kept
    return out


async def taken(
    session: AsyncSession, *, product_id: int, serial: str, order_line_id: int | None = None
) -> str | None:
    """Where this product's serial is already in use, in words (None: free): packed as a unit
    of another order line, or registered under a warranty. Read-only."""
    from backroom.warranty.models import Warranty

    packed = await session.scalar(
        select(UnitSerial.order_id).where(
            UnitSerial.product_id == product_id,
            UnitSerial.serial == serial,
            UnitSerial.order_line_id != (order_line_id or -1),
        )
    )
    if packed is not None:
        return f"packed with order #{packed}"
    registered = await session.scalar(
        select(Warranty.id).where(
            Warranty.product_id == product_id,
            Warranty.serial == serial,
            Warranty.order_line_id.is_distinct_from(order_line_id) if order_line_id else true(),
        )
    )
    return f"registered under warranty #{registered}" if registered is not None else None


async def check(
    session: AsyncSession, *, parcel_id: int, serials: dict[int, list[str]] | None
) -> dict[int, list[str]]:
    """Refuse, in the warehouse's words, serials that cannot be recorded for this parcel: each
    unit of a serial-tracked line needs exactly one, none twice, none another unit has.
    Read-only; returns the cleaned serials (line id -> one per unit)."""
    given = clean(serials)
    lines = (await needed(session, [parcel_id])).get(parcel_id, [])
    known = {line.id for line, _ in lines}
    for line_id in given:
        if line_id not in known:
            raise Refused(
                f"Order line {line_id} is not a serial-numbered item of this parcel.", field="serials"
            )
    for line, product in lines:
        got = given.get(line.id, [])
        if len(got) != line.qty:
            raise InvalidInput(
                f"Enter {line.qty} serial number{'s' if line.qty > 1 else ''} for {product.name}, one per unit"
                f" ({len(got)} given).",
                field="serials",
            )
        for serial in got:
            if len(serial) > 100:
                raise InvalidInput("A serial number has at most 100 characters.", field="serials")
    seen: set[tuple[int, str]] = set()
    for line, product in lines:
        for serial in given.get(line.id, []):
            if (product.id, serial) in seen:
                raise InvalidInput(
                    f"Serial number {serial} of {product.name} is entered twice.", field="serials"
                )
            seen.add((product.id, serial))
            where = await taken(session, product_id=product.id, serial=serial, order_line_id=line.id)
            if where:
                raise InvalidInput(
                    f"Serial number {serial} of {product.name} is already {where}.", field="serials"
                )
    return given


async def record(
    session: AsyncSession,
    *,
    actor: Actor,
    order_id: int,
    parcel_id: int,
    serials: dict[int, list[str]] | None,
    user_name: str | None = None,
) -> int:
    """Record the packed units' serials (checked as above; none given: nothing recorded, e.g.
    automatic fulfilment). Idempotent per unit. Returns how many were added."""
    given = await check(session, parcel_id=parcel_id, serials=serials)
    if not given:
        return 0
    lines = {line.id: (line, product) for line, product in (await needed(session, [parcel_id]))[parcel_id]}
    have = {
        (u.order_line_id, u.unit_no)
        for u in await session.scalars(select(UnitSerial).where(UnitSerial.parcel_id == parcel_id))
    }
    added = 0
    for line_id, values in given.items():
        product = lines[line_id][1]
        for unit, serial in enumerate(values, start=1):
            if (line_id, unit) in have:
                continue
            session.add(
                UnitSerial(
                    order_id=order_id,
                    order_line_id=line_id,
                    parcel_id=parcel_id,
                    product_id=product.id,
                    unit_no=unit,
                    serial=serial,
                    packed_by=user_name,
                )
            )
            added += 1
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="order.serials",
        entity_type="order",
        entity_id=order_id,
        branch_id=next(iter(lines.values()))[0].fulfil_branch_id,
        after={"parcel_id": parcel_id, "serials": {str(k): v for k, v in given.items()}},
    )
    return added


async def of_lines(session: AsyncSession, line_ids: list[int]) -> dict[tuple[int, int], str]:
    """(order line id, unit no) -> serial recorded at packing. Read-only."""
    if not line_ids:
        return {}
    rows = await session.execute(
        select(UnitSerial.order_line_id, UnitSerial.unit_no, UnitSerial.serial).where(
            UnitSerial.order_line_id.in_(line_ids)
        )
    )
    return {(line_id, unit): serial for line_id, unit, serial in rows}
