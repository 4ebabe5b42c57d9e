"""Warranty registrations: from deliveries and by hand, look-up, status, and the writes
WarrantyWorkflow makes (notices, changes, expiry). Services only flush."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom import timeline
from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.catalog.models import Product
from backroom.customers import service as customers
from backroom.customers.models import Customer
from backroom.db.base import contains_text, utcnow
from backroom.errors import InvalidInput, Refused, not_found
from backroom.money import format_money
from backroom.orders import serials as unit_serials
from backroom.orders.models import Order, OrderLine
from backroom.starts import service as starts
from backroom.warranty.errors import NotWarranted, WarrantyStateError
from backroom.warranty.flow import (
    EXPIRING_DAYS,
    WARRANTY_WORKFLOW,
    WarrantyChange,
    WarrantyFacts,
    WarrantyInput,
    warranty_workflow_id,
)
from backroom.warranty.models import Warranty, WarrantyEvent, WarrantySource, WarrantyStatus
from backroom.warranty.schemas import WarrantyCreate

EXTENDED_WARRANTY = "extended_warranty"
CLOSED = (WarrantyStatus.EXPIRED, WarrantyStatus.VOIDED)


def add_months(at: datetime, months: int) -> datetime:
    """`at` plus whole calendar months, the day clamped to the month's end. Pure."""
    total = at.month - 1 + months
    year, month = at.year + total // 12, total % 12 + 1
    return at.replace(year=year, month=month, day=min(at.day, calendar.monthrange(year, month)[1]))


def status_of(w: Warranty, now: datetime | None = None) -> str:
    """active | expiring (within 30 days of expiry) | expired | voided. Pure."""
    now = now or utcnow()
    if w.status == WarrantyStatus.VOIDED:
        return WarrantyStatus.VOIDED
    if w.status == WarrantyStatus.EXPIRED or w.expires_at <= now:
        return WarrantyStatus.EXPIRED
    if w.expires_at - now <= timedelta(days=EXPIRING_DAYS):
        return WarrantyStatus.EXPIRING
    return WarrantyStatus.ACTIVE


def covers(w: Warranty, at: datetime) -> bool:
    """Whether the registration covers a claim made at `at`. Pure."""
    return w.status != WarrantyStatus.VOIDED and w.starts_at <= at < w.expires_at


async def get(session: AsyncSession, warranty_id: int) -> Warranty:
    w = await session.get(Warranty, warranty_id)
    if w is None:
        raise not_found("Warranty", warranty_id)
    return w


def workflow_input(w: Warranty) -> WarrantyInput:
    return WarrantyInput(warranty_id=w.id, expires_at=w.expires_at)


async def _event(session: AsyncSession, w: Warranty, kind: str, *, actor: Actor, **fields) -> None:
    """A timeline entry of the registration (`fields`: detail, key, at)."""
    await timeline.add(session, WarrantyEvent, actor=actor, kind=kind, warranty_id=w.id, **fields)


async def _seen(session: AsyncSession, key: str) -> bool:
    return await timeline.seen(session, WarrantyEvent, key)


async def _create(
    session: AsyncSession,
    *,
    actor: Actor,
    product: Product,
    customer_id: int | None,
    branch_id: int,
    purchased_at: datetime,
    source: str,
    order_id: int | None = None,
    order_line_id: int | None = None,
    unit_no: int = 1,
    serial: str | None = None,
    proof: str | None = None,
    key: str | None = None,
) -> Warranty:
    w = Warranty(
        customer_id=customer_id,
        product_id=product.id,
        order_id=order_id,
        order_line_id=order_line_id,
        unit_no=unit_no,
        serial=(serial or "").strip() or None,
        source=source,
        proof=proof,
        purchased_at=purchased_at,
        starts_at=purchased_at,
        expires_at=add_months(purchased_at, product.warranty_months),
        months=product.warranty_months,
        status=WarrantyStatus.ACTIVE,
        registration_key=key,
        branch_id=branch_id,
        created_by_id=actor.user_id,
        shift_id=actor.shift_id,
    )
    session.add(w)
    await session.flush()
    w.workflow_id = warranty_workflow_id(w.id)
    where = f"order #{order_id}" if order_id else "in store"
    await _event(session, w, "registered", actor=actor, detail=f"{product.name}, {where}", at=purchased_at)
    await audit.record(
        session,
        actor=actor,
        action="warranty.register",
        entity_type="warranty",
        entity_id=w.id,
        branch_id=branch_id,
        after=audit.snapshot(w),
    )
    await starts.enqueue(
        session,
        run=WARRANTY_WORKFLOW,
        arg=workflow_input(w),
        workflow_id=w.workflow_id,
        branch_id=branch_id,
        customer_id=customer_id,
        order_id=order_id,
    )
    return w


async def register_manual(session: AsyncSession, *, actor: Actor, data: WarrantyCreate) -> Warranty:
    """Register a unit sold in store (clerk): customer, product, serial, purchase date, proof.
    Not idempotent (a new registration); a serial already registered for the product is refused."""
    customer = await customers.writable(session, data.customer_id)
    product = await session.get(Product, data.product_id)
    if product is None:
        raise not_found("Product", data.product_id)
    if product.warranty_months <= 0 or product.kind == EXTENDED_WARRANTY:
        raise NotWarranted(f"{product.name} has no warranty period.", field="product_id")
    if data.purchased_at > utcnow():
        raise Refused("The purchase date cannot be in the future.", field="purchased_at")
    serial = (data.serial or "").strip() or None
    if serial and (where := await unit_serials.taken(session, product_id=product.id, serial=serial)):
        raise WarrantyStateError(f"Serial number {serial} of {product.name} is already {where}.")
    return await _create(
        session,
        actor=actor,
        product=product,
        customer_id=customer.id,
        branch_id=data.branch_id or customer.home_branch_id,
        purchased_at=data.purchased_at,
        source=WarrantySource.MANUAL,
        serial=serial,
        proof=data.proof,
    )


async def register_delivered(session: AsyncSession, *, actor: Actor, order: Order, at: datetime) -> int:
    """One registration per delivered unit of each warranted product of the order, with the
    serial number the warehouse recorded for the unit when packing. Idempotent
    (one per order line and unit, however often the delivery event runs); returns how many
    were added."""
    rows = await session.execute(
        select(OrderLine, Product)
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id == order.id, Product.warranty_months > 0, Product.kind != EXTENDED_WARRANTY)
        .order_by(OrderLine.id)
    )
    rows = list(rows)
    packed = await unit_serials.of_lines(session, [line.id for line, _ in rows])
    added = 0
    for line, product in rows:
        for unit in range(1, line.qty + 1):
            key = f"order-{order.id}:line-{line.id}:unit-{unit}"
            if await session.scalar(select(Warranty.id).where(Warranty.registration_key == key)):
                continue
            await _create(
                session,
                actor=actor,
                product=product,
                customer_id=order.customer_id,
                branch_id=line.fulfil_branch_id,
                purchased_at=at,
                source=WarrantySource.DELIVERY,
                order_id=order.id,
                order_line_id=line.id,
                unit_no=unit,
                serial=packed.get((line.id, unit)),  # entered by the warehouse when it packed the unit
                key=key,
            )
            added += 1
    return added


async def extensions_paid(session: AsyncSession, *, order: Order) -> list[tuple[Warranty, WarrantyChange]]:
    """The registrations an order's extended warranties extend, one per unit sold: first the
    units bought in the same order, then the customer's active registration that expires
    soonest. Read-only; the caller signals each registration's workflow."""
    rows = await session.execute(
        select(OrderLine, Product)
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id == order.id, Product.kind == EXTENDED_WARRANTY)
        .order_by(OrderLine.id)
    )
    out: list[tuple[Warranty, WarrantyChange]] = []
    taken: set[int] = set()
    for line, product in rows:
        for unit in range(1, line.qty + 1):
            if order.customer_id is None:
                continue
            candidates = await session.scalars(
                select(Warranty)
                .where(
                    Warranty.customer_id == order.customer_id,
                    Warranty.status == WarrantyStatus.ACTIVE,
                    Warranty.expires_at > utcnow(),
                )
                .order_by((Warranty.order_id == order.id).desc(), Warranty.expires_at, Warranty.id)
            )
            target = next((w for w in candidates if w.id not in taken), None)
            if target is None:
                continue
            taken.add(target.id)
            out.append(
                (
                    target,
                    WarrantyChange(
                        key=f"order-{order.id}:line-{line.id}:unit-{unit}:extend",
                        kind="extend",
                        months=product.warranty_months,
                        reason=f"{product.name} bought with order #{order.id}",
                    ),
                )
            )
    return out


async def apply_change(
    session: AsyncSession, *, actor: Actor, warranty_id: int, change: WarrantyChange
) -> WarrantyFacts:
    """Extend, transfer or void a registration. Idempotent by the change's key."""
    w = await get(session, warranty_id)
    if await _seen(session, change.key):
        return WarrantyFacts(warranty_id=w.id, status=w.status, expires_at=w.expires_at)
    if w.status in CLOSED:
        raise WarrantyStateError(f"Warranty #{w.id} is {w.status}.")
    before = audit.snapshot(w)
    if change.kind == "extend":
        if not change.months or change.months <= 0:
            raise InvalidInput("Give the number of months to extend by.", field="months")
        w.expires_at = add_months(w.expires_at, change.months)
        w.extended_months += change.months
        detail = f"extended by {change.months} months to {w.expires_at:%Y-%m-%d}"
    elif change.kind == "transfer":
        new = await session.get(Customer, change.customer_id) if change.customer_id else None
        if new is None or new.status != "active":
            raise not_found("Customer", change.customer_id)
        old = await session.get(Customer, w.customer_id) if w.customer_id else None
        w.customer_id = new.id
        detail = f"transferred from {old.name if old else 'no one'} to {new.name}"
    else:
        w.status = WarrantyStatus.VOIDED
        detail = "voided"
    if change.reason:
        detail += f" ({change.reason})"
    await _event(session, w, change.kind, actor=actor, detail=detail, key=change.key)
    await audit.record(
        session,
        actor=actor,
        action=f"warranty.{change.kind}",
        entity_type="warranty",
        entity_id=w.id,
        branch_id=w.branch_id,
        before=before,
        after=audit.snapshot(w),
    )
    return WarrantyFacts(warranty_id=w.id, status=w.status, expires_at=w.expires_at)


async def check_change(session: AsyncSession, *, warranty_id: int, change: WarrantyChange) -> Warranty:
    """Refuse a change that cannot apply, before it is sent to the workflow. Read-only."""
    w = await get(session, warranty_id)
    if status_of(w) in CLOSED:
        raise WarrantyStateError(f"Warranty #{w.id} is {status_of(w)}; it can no longer change.")
    if change.kind == "transfer":
        new = await session.get(Customer, change.customer_id) if change.customer_id else None
        if new is None or new.status != "active":
            raise not_found("Customer", change.customer_id)
        if new.id == w.customer_id:
            raise Refused("The warranty already belongs to this customer.", field="customer_id")
    return w


async def update(
    session: AsyncSession, *, actor: Actor, warranty_id: int, serial: str | None, proof: str | None
) -> Warranty:
    """Record the serial number (e.g. read off the unit at the first repair) or the proof."""
    w = await get(session, warranty_id)
    before = audit.snapshot(w)
    if serial is not None:
        serial = serial.strip() or None
        if serial and serial != w.serial:
            where = await unit_serials.taken(
                session, product_id=w.product_id, serial=serial, order_line_id=w.order_line_id
            )
            if where:
                raise WarrantyStateError(f"Serial number {serial} is already {where}.")
        w.serial = serial
    if proof is not None:
        w.proof = proof.strip() or None
    await session.flush()
    await _event(session, w, "edited", actor=actor, detail=f"serial {w.serial or '-'}")
    await audit.record(
        session,
        actor=actor,
        action="warranty.update",
        entity_type="warranty",
        entity_id=w.id,
        branch_id=w.branch_id,
        before=before,
        after=audit.snapshot(w),
    )
    return w


async def extension_offer(session: AsyncSession) -> Product | None:
    """The extended warranty on sale (the cheapest active one), offered in expiry notices."""
    return await session.scalar(
        select(Product)
        .where(Product.kind == EXTENDED_WARRANTY, Product.status == "active")
        .order_by(Product.price_minor, Product.id)
        .limit(1)
    )


async def send_notice(
    session: AsyncSession, *, actor: Actor, warranty_id: int, days: int, key: str, at: datetime
) -> bool:
    """Tell the owner the warranty ends in `days` days and offer the extended warranty. Only
    to customers who consented to e-mail (the notice is an offer). Idempotent by key."""
    if await _seen(session, key):
        return False
    w = await get(session, warranty_id)
    product = await session.get(Product, w.product_id)
    customer = await session.get(Customer, w.customer_id) if w.customer_id else None
    if customer is None or not customer.consent_email or customer.status != "active":
        await _event(session, w, f"notice_{days}_skipped", actor=actor, key=key, at=at, detail="no consent")
        return False
    offer = await extension_offer(session)
    body = (
        f"Dear {customer.name},\n\nthe warranty of your {product.name}"
        f"{f' (serial {w.serial})' if w.serial else ''} ends on {w.expires_at:%Y-%m-%d}, in {days} days.\n"
    )
    if offer:
        body += (
            f"\nExtend it by {offer.warranty_months} months with our {offer.name} for "
            f"{format_money(offer.price_minor, offer.currency)}: ask in store or order it online.\n"
        )
    await timeline.notice(
        session,
        WarrantyEvent,
        owner={"warranty_id": w.id},
        key=key,
        actor=actor,
        event=f"notice_{days}",
        detail=f"sent to {customer.name}",
        at=at,
        kind="warranty.expiry_notice",
        to_customer_id=customer.id,
        branch_id=w.branch_id,
        subject=f"Your warranty for {product.name} ends in {days} days",
        body=body,
    )
    return True


async def mark_expired(session: AsyncSession, *, actor: Actor, warranty_id: int, at: datetime) -> bool:
    """Mark the registration expired once its end has passed. Idempotent."""
    w = await get(session, warranty_id)
    if w.status != WarrantyStatus.ACTIVE or w.expires_at > at:
        return False
    before = audit.snapshot(w)
    w.status = WarrantyStatus.EXPIRED
    await _event(session, w, "expired", actor=actor, at=at)
    await audit.record(
        session,
        actor=actor,
        action="warranty.expire",
        entity_type="warranty",
        entity_id=w.id,
        branch_id=w.branch_id,
        before=before,
        after=audit.snapshot(w),
    )
    return True


async def names_of(session: AsyncSession, w: Warranty) -> tuple[str, str | None]:
    """(product name, owner's name) of one registration. Read-only."""
    product = await session.get(Product, w.product_id)
    customer = await session.get(Customer, w.customer_id) if w.customer_id else None
    return product.name, customer.name if customer else None


async def events(session: AsyncSession, warranty_id: int) -> list[WarrantyEvent]:
    rows = await session.scalars(
        select(WarrantyEvent)
        .where(WarrantyEvent.warranty_id == warranty_id)
        .order_by(WarrantyEvent.at.desc(), WarrantyEvent.id.desc())
    )
    return list(rows)


async def lookup(
    session: AsyncSession,
    *,
    branch_ids: set[int] | None,
    serial: str | None = None,
    order_id: int | None = None,
    customer_id: int | None = None,
    product_id: int | None = None,
    q: str | None = None,
    limit: int = 100,
) -> list[tuple[Warranty, str, str | None]]:
    """Registrations by serial, order, customer, product (or a free text that may be any of
    them), newest first, with product and customer names. Read-only."""
    stmt = (
        select(Warranty, Product.name, Customer.name)
        .join(Product, Product.id == Warranty.product_id)
        .outerjoin(Customer, Customer.id == Warranty.customer_id)
    )
    if branch_ids is not None:
        stmt = stmt.where(Warranty.branch_id.in_(branch_ids or {-1}))
    if serial:
        stmt = stmt.where(Warranty.serial == serial.strip())
    if order_id:
        stmt = stmt.where(Warranty.order_id == order_id)
    if customer_id:
        stmt = stmt.where(Warranty.customer_id == customer_id)
    if product_id:
        stmt = stmt.where(Warranty.product_id == product_id)
    if q and q.strip():
        text = q.strip()
        conds = [Warranty.serial == text, Product.sku == text, contains_text(Customer.name, text)]
        if text.lstrip("#").isdigit() and len(text) < 18:
            conds.append(Warranty.order_id == int(text.lstrip("#")))
        stmt = stmt.where(or_(*conds))
    rows = await session.execute(stmt.order_by(Warranty.id.desc()).limit(limit))
    return [(w, pname, cname) for w, pname, cname in rows]


async def covering(
    session: AsyncSession,
    *,
    product_id: int,
    at: datetime,
    customer_id: int | None = None,
    serial: str | None = None,
    order_id: int | None = None,
) -> Warranty | None:
    """The registration covering a claim on this unit at `at`, if any: by serial first, then
    by order, then the customer's. Read-only."""
    base = select(Warranty).where(Warranty.product_id == product_id).order_by(Warranty.expires_at.desc())
    for cond in (
        Warranty.serial == serial if serial else None,
        Warranty.order_id == order_id if order_id else None,
        Warranty.customer_id == customer_id if customer_id else None,
    ):
        if cond is None:
            continue
        for w in await session.scalars(base.where(cond)):
            if covers(w, at):
                return w
    return None
