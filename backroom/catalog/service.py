"""Catalog and stock: products, per-branch stock, the stock ledger and order reservations."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.branches.models import Branch
from backroom.branches.service import shop_branch
from backroom.catalog.errors import OutOfStock, ProductArchived, ProductNotFound, SkuTaken, StockBelowReserved
from backroom.catalog.models import (
    Product,
    ProductStatus,
    ReservationStatus,
    StockLevel,
    StockMovement,
    StockReservation,
)
from backroom.catalog.schemas import (
    ProductCreate,
    ProductDetail,
    ProductFilter,
    ProductRead,
    ProductUpdate,
    StockRead,
)
from backroom.controls import service as controls
from backroom.controls import thresholds
from backroom.controls.models import GatedAction, GatedKind
from backroom.db.base import contains_text
from backroom.errors import InvalidInput
from backroom.money import format_money
from backroom.pagination import Page, paginate
from backroom.settings import Settings

SORTS = {
    "name": Product.name,
    "price": Product.price_minor,
    "created": Product.created_at,
    "sku": Product.sku,
}


async def create_product(session: AsyncSession, *, actor: Actor, data: ProductCreate) -> Product:
    """Create a product. Not idempotent (the SKU is unique, so a repeat raises SkuTaken)."""
    if await session.scalar(select(Product.id).where(Product.sku == data.sku)):
        raise SkuTaken(f"SKU {data.sku} is already used by another product.", field="sku")
    product = Product(**data.model_dump(), status=ProductStatus.ACTIVE, created_by_id=actor.user_id)
    session.add(product)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="product.create",
        entity_type="product",
        entity_id=product.id,
        after=audit.snapshot(product),
    )
    return product


async def get_product(
    session: AsyncSession, product_id: int, *, vendor_id: int | None = None, lock: bool = False
) -> Product:
    """One product; a vendor user only finds their own. Read-only; with `lock` its row stays
    locked to this transaction (PostgreSQL: FOR UPDATE), for a read-check-write."""
    product = await session.get(Product, product_id, with_for_update=True if lock else None)
    if product is None or (vendor_id is not None and product.vendor_id != vendor_id):
        raise ProductNotFound(f"Product {product_id} does not exist.")
    return product


async def update_product(
    session: AsyncSession, *, actor: Actor, product_id: int, data: ProductUpdate, vendor_id: int | None = None
) -> Product:
    """Change a product's fields. Idempotent (same data twice leaves the same record)."""
    product = await get_product(session, product_id, vendor_id=vendor_id, lock=True)
    if product.status == ProductStatus.ARCHIVED:
        raise ProductArchived("Archived products cannot be changed.")
    before = audit.snapshot(product)
    for key, value in data.model_dump(exclude_unset=True).items():
        if value is None and key != "description":
            continue
        setattr(product, key, value)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="product.update",
        entity_type="product",
        entity_id=product.id,
        before=before,
        after=audit.snapshot(product),
    )
    return product


async def archive_product(
    session: AsyncSession, *, actor: Actor, product_id: int, vendor_id: int | None = None
) -> Product:
    """Take a product off sale. Idempotent."""
    product = await get_product(session, product_id, vendor_id=vendor_id, lock=True)
    if product.status != ProductStatus.ARCHIVED:
        before = audit.snapshot(product)
        product.status = ProductStatus.ARCHIVED
        await session.flush()
        await audit.record(
            session,
            actor=actor,
            action="product.archive",
            entity_type="product",
            entity_id=product.id,
            before=before,
            after=audit.snapshot(product),
        )
    return product


async def list_products(session: AsyncSession, *, filt: ProductFilter, vendor_id: int | None = None) -> Page:
    """Filter, sort and page products (keyset). Vendor users see only their vendor's. Read-only."""
    stmt = select(Product)
    if filt.status != "all":
        stmt = stmt.where(Product.status == filt.status)
    if filt.category:
        stmt = stmt.where(Product.category == filt.category)
    if filt.q:
        from sqlalchemy import or_

        stmt = stmt.where(or_(contains_text(Product.name, filt.q), contains_text(Product.sku, filt.q)))
    if vendor_id is not None:
        stmt = stmt.where(Product.vendor_id == vendor_id)
    elif filt.vendor_id is not None:
        stmt = stmt.where(Product.vendor_id == filt.vendor_id)
    return await paginate(
        session,
        stmt,
        sort_col=SORTS[filt.sort],
        id_col=Product.id,
        limit=filt.limit,
        cursor=filt.cursor,
        descending=filt.desc,
    )


async def stock_of(session: AsyncSession, product_ids: list[int]) -> dict[int, list[StockLevel]]:
    """Stock rows by product. Read-only."""
    out: dict[int, list[StockLevel]] = {pid: [] for pid in product_ids}
    if product_ids:
        rows = await session.scalars(
            select(StockLevel).where(StockLevel.product_id.in_(product_ids)).order_by(StockLevel.branch_id)
        )
        for row in rows:
            out[row.product_id].append(row)
    return out


async def product_detail(session: AsyncSession, product: Product) -> ProductDetail:
    """The product with its stock in each branch. Read-only."""
    stock = (await stock_of(session, [product.id]))[product.id]
    return ProductDetail(
        **ProductRead.model_validate(product).model_dump(), stock=[StockRead.model_validate(s) for s in stock]
    )


async def available(session: AsyncSession, product_id: int) -> int:
    """Units available to sell across branches. Read-only."""
    return sum(s.on_hand - s.reserved for s in (await stock_of(session, [product_id]))[product_id])


async def set_bin(
    session: AsyncSession,
    *,
    actor: Actor,
    product_id: int,
    branch_id: int,
    bin: str | None,
    vendor_id: int | None = None,
) -> StockLevel:
    """Where a branch keeps the product (shelf or bin; blank: nowhere in particular), shown on
    pick lists. Audited; idempotent (the same place again changes nothing)."""
    await get_product(session, product_id, vendor_id=vendor_id)
    place = (bin or "").strip().upper() or None
    if place and len(place) > 40:
        raise InvalidInput("A shelf or bin is at most 40 characters, e.g. A-03-2.", field="bin")
    level = await session.scalar(
        select(StockLevel)
        .where(StockLevel.product_id == product_id, StockLevel.branch_id == branch_id)
        .with_for_update()
    )
    if level is None:
        level = StockLevel(product_id=product_id, branch_id=branch_id, on_hand=0, reserved=0)
        session.add(level)
        await session.flush()
    if level.bin == place:
        return level
    before = {"bin": level.bin}
    level.bin = place
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="stock.bin",
        entity_type="product",
        entity_id=product_id,
        branch_id=branch_id,
        before=before,
        after={"bin": place, "branch_id": branch_id},
    )
    return level


async def bins_of(session: AsyncSession, keys: set[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """(product id, branch id) -> shelf or bin, for those that have one. Read-only."""
    if not keys:
        return {}
    rows = await session.execute(
        select(StockLevel.product_id, StockLevel.branch_id, StockLevel.bin).where(
            StockLevel.product_id.in_({p for p, _ in keys}),
            StockLevel.branch_id.in_({b for _, b in keys}),
            StockLevel.bin.is_not(None),
        )
    )
    return {(p, b): place for p, b, place in rows if (p, b) in keys}


async def adjust_stock(
    session: AsyncSession,
    *,
    actor: Actor,
    product_id: int,
    branch_id: int,
    delta: int,
    reason: str,
    vendor_id: int | None = None,
) -> StockLevel:
    """Add (or remove) units on hand in a branch; refuses to go below the reserved units.
    Not idempotent: each call is one ledger movement."""
    await get_product(session, product_id, vendor_id=vendor_id)
    level = await session.scalar(
        select(StockLevel).where(StockLevel.product_id == product_id, StockLevel.branch_id == branch_id)
    )
    if level is None:
        level = StockLevel(product_id=product_id, branch_id=branch_id, on_hand=0, reserved=0)
        session.add(level)
        await session.flush()
    before = audit.snapshot(level)
    # Conditional update: concurrent reservations cannot be pushed below zero availability.
    result = await session.execute(
        update(StockLevel)
        .where(StockLevel.id == level.id, StockLevel.on_hand + delta >= StockLevel.reserved)
        .values(on_hand=StockLevel.on_hand + delta)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise StockBelowReserved(f"Cannot remove {-delta} units: they are on hand but reserved for orders.")
    await session.refresh(level)
    session.add(
        StockMovement(
            product_id=product_id,
            branch_id=branch_id,
            kind="adjust",
            on_hand_delta=delta,
            reason=reason,
            created_by_id=actor.user_id,
            shift_id=actor.shift_id,
        )
    )
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="stock.adjust",
        entity_type="stock_level",
        entity_id=level.id,
        branch_id=branch_id,
        before=before,
        after={**audit.snapshot(level), "reason": reason},
    )
    return level


async def adjust_or_request(
    session: AsyncSession,
    *,
    actor: Actor,
    product_id: int,
    branch_id: int,
    delta: int,
    reason: str,
    settings: Settings,
    vendor_id: int | None = None,
) -> StockLevel | GatedAction:
    """Stock counted in, or written off up to the branch's threshold
    (STOCK_WRITEOFF_APPROVAL_OVER_UNITS), changes at once; a larger write-off is requested and
    applied by FourEyesWorkflow once a manager approves. Not idempotent (each call is one
    movement or one request)."""
    if delta >= 0 or -delta <= await thresholds.in_branch(
        session, settings, "stock_writeoff_approval_over_units", branch_id
    ):
        return await adjust_stock(
            session,
            actor=actor,
            product_id=product_id,
            branch_id=branch_id,
            delta=delta,
            reason=reason,
            vendor_id=vendor_id,
        )
    product = await get_product(session, product_id, vendor_id=vendor_id)
    level = await session.scalar(
        select(StockLevel).where(StockLevel.product_id == product_id, StockLevel.branch_id == branch_id)
    )
    if level is None or level.on_hand + delta < level.reserved:  # refused now, not after approval
        raise StockBelowReserved(
            f"Cannot remove {-delta} units: they are not on hand, or reserved for orders."
        )
    return await controls.request(
        session,
        actor=actor,
        kind=GatedKind.stock_writeoff,
        branch_id=branch_id,
        subject_type="product",
        subject_id=str(product.id),
        title=f"Write off {-delta} × {product.sku} {product.name}",
        reason=reason,
        payload={"product_id": product.id, "branch_id": branch_id, "delta": delta, "reason": reason},
        hours=settings.four_eyes_hours,
    )


def price_change_percent(old_minor: int, new_minor: int) -> float:
    """How far a price moves, in percent of the old one (any change from 0 counts as 100+). Pure."""
    if old_minor == new_minor:
        return 0.0
    if old_minor == 0:
        return float("inf")
    return abs(new_minor - old_minor) * 100 / old_minor


async def update_or_request(
    session: AsyncSession,
    *,
    actor: Actor,
    product_id: int,
    data: ProductUpdate,
    settings: Settings,
    vendor_id: int | None = None,
) -> tuple[Product, GatedAction | None]:
    """Change a product; a price moving more than PRICE_CHANGE_APPROVAL_OVER_PERCENT is not
    changed but requested (a manager approves, FourEyesWorkflow applies it), the other fields
    change at once. Returns the product and the request, if one was made."""
    product = await get_product(session, product_id, vendor_id=vendor_id)
    price = data.price_minor
    moved = price is not None and price_change_percent(product.price_minor, price)
    if not moved or moved <= settings.price_change_approval_over_percent:
        return await update_product(
            session, actor=actor, product_id=product_id, data=data, vendor_id=vendor_id
        ), None
    rest = data.model_copy(update={"price_minor": None})
    if rest.model_dump(exclude_unset=True, exclude_none=True):
        product = await update_product(
            session, actor=actor, product_id=product_id, data=rest, vendor_id=vendor_id
        )
    elif product.status == ProductStatus.ARCHIVED:
        raise ProductArchived("Archived products cannot be changed.")
    branch = await shop_branch(session, code=settings.shop_branch_code)
    req = await controls.request(
        session,
        actor=actor,
        kind=GatedKind.price_change,
        branch_id=branch.id,
        subject_type="product",
        subject_id=str(product.id),
        title=f"Price of {product.sku} {product.name}: {format_money(product.price_minor, product.currency)}"
        f" → {format_money(price, product.currency)}",
        payload={"product_id": product.id, "update": {"price_minor": price}},
        amount_minor=price,
        currency=product.currency,
        hours=settings.four_eyes_hours,
    )
    return product, req


@dataclass
class Allocation:
    product_id: int
    branch_id: int
    qty: int


async def _short_message(session: AsyncSession, name, qty: int, levels) -> str:
    """Why `qty` of a product cannot be held: too few in all, or (each line ships whole from one
    branch) enough only spread over branches, naming what each has."""
    free = {s.branch_id: max(0, s.on_hand - s.reserved) for s in levels}
    total = sum(free.values())
    if total < qty:
        return f"Only {total} of {name} left."
    names = dict((await session.execute(select(Branch.id, Branch.name).where(Branch.id.in_(free)))).all())
    spread = ", ".join(f"{n} at {names.get(b, b)}" for b, n in sorted(free.items(), key=lambda x: -x[1]) if n)
    best = max(free.values())
    return (
        f"{qty} of {name} cannot ship together: the stock is spread over branches ({spread}). "
        f"Order up to {best} now and the rest in another order."
    )


async def reserve(
    session: AsyncSession,
    *,
    actor: Actor,
    order_id: int,
    items: list[tuple[int, int]],
    prefer_branch_id: int | None = None,
) -> list[Allocation]:
    """Hold stock for an order's lines, each line from one branch that has enough. Atomic per row:
    `UPDATE ... WHERE on_hand - reserved >= qty`, so two checkouts can never both take the last
    unit (on PostgreSQL too). Raises OutOfStock; the caller's transaction then rolls back."""
    out = []
    # Stock rows are locked in product order here and in _settle: two writers never wait on
    # each other in a cycle (a deadlock).
    for product_id, qty in sorted(items):
        levels = (await stock_of(session, [product_id]))[product_id]
        # Prefer the preferred branch, then the one with the most available (fewer split parcels).
        levels.sort(key=lambda s: (s.branch_id != prefer_branch_id, -(s.on_hand - s.reserved), s.branch_id))
        for level in levels:
            res = await session.execute(
                update(StockLevel)
                .where(StockLevel.id == level.id, StockLevel.on_hand - StockLevel.reserved >= qty)
                .values(reserved=StockLevel.reserved + qty)
                .execution_options(synchronize_session=False)
            )
            if res.rowcount == 1:
                out.append(Allocation(product_id, level.branch_id, qty))
                break
        else:
            product = await session.get(Product, product_id)
            raise OutOfStock(
                await _short_message(session, product.name if product else product_id, qty, levels),
                product_id=product_id,
            )
    for a in out:
        session.add(
            StockReservation(
                order_id=order_id,
                product_id=a.product_id,
                branch_id=a.branch_id,
                qty=a.qty,
                status=ReservationStatus.HELD,
                created_by_id=actor.user_id,
            )
        )
        session.add(
            StockMovement(
                product_id=a.product_id,
                branch_id=a.branch_id,
                kind="reserve",
                reserved_delta=a.qty,
                reference=f"order-{order_id}",
                created_by_id=actor.user_id,
            )
        )
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="stock.reserve",
        entity_type="order",
        entity_id=order_id,
        after={"allocations": [a.__dict__ for a in out]},
    )
    return out


async def _settle(
    session: AsyncSession,
    *,
    actor: Actor,
    order_id: int,
    to: ReservationStatus,
    branch_id: int | None,
    product_ids: Collection[int] | None = None,
) -> int:
    stmt = select(StockReservation).where(
        StockReservation.order_id == order_id, StockReservation.status == ReservationStatus.HELD
    )
    if branch_id is not None:
        stmt = stmt.where(StockReservation.branch_id == branch_id)
    if product_ids is not None:
        stmt = stmt.where(StockReservation.product_id.in_(product_ids))
    moved = 0
    stmt = stmt.order_by(StockReservation.product_id, StockReservation.branch_id)
    for r in list(await session.scalars(stmt)):
        # Conditional on "held": a second release/ship of the same reservation changes nothing.
        res = await session.execute(
            update(StockReservation)
            .where(StockReservation.id == r.id, StockReservation.status == ReservationStatus.HELD)
            .values(status=to)
            .execution_options(synchronize_session=False)
        )
        if res.rowcount != 1:
            continue
        on_hand = -r.qty if to == ReservationStatus.SHIPPED else 0
        await session.execute(
            update(StockLevel)
            .where(StockLevel.product_id == r.product_id, StockLevel.branch_id == r.branch_id)
            .values(reserved=StockLevel.reserved - r.qty, on_hand=StockLevel.on_hand + on_hand)
            .execution_options(synchronize_session=False)
        )
        session.add(
            StockMovement(
                product_id=r.product_id,
                branch_id=r.branch_id,
                kind="ship" if to == ReservationStatus.SHIPPED else "release",
                on_hand_delta=on_hand,
                reserved_delta=-r.qty,
                reference=f"order-{order_id}",
                created_by_id=actor.user_id,
            )
        )
        moved += r.qty
    if moved:
        await audit.record(
            session,
            actor=actor,
            action=f"stock.{'ship' if to == 'shipped' else 'release'}",
            entity_type="order",
            entity_id=order_id,
            branch_id=branch_id,
            after={"units": moved},
        )
    return moved


async def release(session: AsyncSession, *, actor: Actor, order_id: int) -> int:
    """Give an order's held units back to sale. Idempotent."""
    return await _settle(
        session, actor=actor, order_id=order_id, to=ReservationStatus.RELEASED, branch_id=None
    )


async def ship_reserved(
    session: AsyncSession,
    *,
    actor: Actor,
    order_id: int,
    branch_id: int,
    product_ids: Collection[int] | None = None,
) -> int:
    """Units of an order leave a branch (only these products': one parcel's, when the branch
    ships several, the shop's and vendors'): on hand and reserved both drop. Idempotent."""
    return await _settle(
        session,
        actor=actor,
        order_id=order_id,
        to=ReservationStatus.SHIPPED,
        branch_id=branch_id,
        product_ids=product_ids,
    )
