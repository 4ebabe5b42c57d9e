"""Orders: placing an order from a cart (stock reserved atomically), the timeline, the payments
ledger, parcels, alerts and webhook de-duplication."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import defaultdict
from dataclasses import replace
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backroom import temporal
from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.carts.discounts import Basket
from backroom.carts.discounts import collect as collect_discounts
from backroom.carts.errors import CodeRefused
from backroom.carts.pricing import DiscountLine, PriceLine, ShippingRule, Totals, price
from backroom.catalog import service as catalog
from backroom.catalog.errors import ProductArchived
from backroom.catalog.models import Product, ProductStatus
from backroom.db.base import contains_text, utcnow
from backroom.orders import events
from backroom.orders.errors import CartEmpty, IdempotencyKeyReused, OrderNotFound
from backroom.orders.flow import order_workflow_id as workflow_id
from backroom.orders.models import (
    BROWSER_CARD,
    Alert,
    AlertStatus,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Parcel,
    ParcelStatus,
    PaymentEntry,
    WebhookEvent,
)
from backroom.orders.schemas import (
    CheckoutRequest,
    OrderDetail,
    OrderEventRead,
    OrderFilter,
    OrderLineRead,
    OrderRead,
    ParcelRead,
    PaymentEntryRead,
)
from backroom.pagination import Page, paginate
from backroom.reports import rollups
from backroom.shipping.boxes import box_for


def request_hash(cart_id: int, body: CheckoutRequest) -> str:
    """Fingerprint of a checkout request, to tell a retry from a different request with the same key."""
    raw = json.dumps({"cart": cart_id, **body.model_dump(mode="json")}, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()


async def find_by_idempotency_key(session: AsyncSession, key: str, fingerprint: str) -> Order | None:
    """The order an earlier request with this key created; 409 if that request was different. Read-only."""
    order = await session.scalar(select(Order).where(Order.idempotency_key == key))
    if order is not None and order.request_hash != fingerprint:
        raise IdempotencyKeyReused("This Idempotency-Key was used for a different checkout; use a new key.")
    return order


async def placed_with_key(session: AsyncSession, key: str) -> Order | None:
    """The order a checkout with this Idempotency-Key created, if any. Read-only."""
    return await session.scalar(select(Order).where(Order.idempotency_key == key)) if key else None


async def price_items(
    session: AsyncSession,
    items: list[tuple[int, int]],
    *,
    currency: str,
    basket: Basket | None = None,
    shipping: ShippingRule | None = None,
    refused: dict[str, str] | None = None,
    extra: tuple[DiscountLine, ...] = (),
) -> tuple[Totals, dict[int, Product]]:
    """Price (product_id, qty) pairs at today's catalog prices, with the discounts the
    registered sources give `basket` (its lines are filled in here). A code in the basket that
    does not apply raises CodeRefused with the reason, or, when a `refused` dict is given, is
    left out and its reason put there (the cart shows it). Read-only."""
    ids = [pid for pid, _ in items]
    products = (
        {p.id: p for p in await session.scalars(select(Product).where(Product.id.in_(ids)))} if ids else {}
    )
    lines = []
    for pid, qty in items:
        product = products.get(pid)
        if product is None or product.status != ProductStatus.ACTIVE:
            raise ProductArchived(f"Product {pid} is no longer sold.", product_id=pid)
        lines.append(
            PriceLine(
                product_id=pid,
                sku=product.sku,
                name=product.name,
                qty=qty,
                unit_price_minor=product.price_minor,
                tax_rate_bp=product.tax_rate_bp,
                weight_g=product.weight_g,
            )
        )
    discounts = []
    if basket is not None:
        offer = await collect_discounts(session, replace(basket, lines=lines))
        if refused is not None:
            refused.update(offer.refused)
        elif offer.refused:
            raise CodeRefused(next(iter(offer.refused.values())), refused=offer.refused)
        discounts = offer.lines
    # `extra`: a discount the business grants, not a code (an after-sales replacement is free).
    return price(lines, currency=currency, discounts=[*discounts, *extra], shipping=shipping), products


def review_reason(
    *,
    total_minor: int,
    units: int,
    ship_postcode: str,
    billing_postcode: str | None,
    review_over_minor: int,
    units_over: int,
) -> str | None:
    """Why an order needs a person to look at it before picking, or None. Pure."""
    if review_over_minor and total_minor > review_over_minor:
        return "Order total above the review threshold"
    if units_over and units > units_over:
        return f"More than {units_over} units"
    if (
        billing_postcode
        and billing_postcode.replace(" ", "").upper() != ship_postcode.replace(" ", "").upper()
    ):
        return "Billing and shipping postcodes differ"
    return None


async def place_order(
    session: AsyncSession,
    *,
    actor: Actor,
    cart_id: int | None,
    branch_id: int,
    items: list[tuple[int, int]],
    body: CheckoutRequest,
    idempotency_key: str,
    fingerprint: str,
    currency: str,
    customer_id: int | None = None,
    codes: list[str] = (),
    channel: str = "storefront",
    shipping: ShippingRule | None = None,
    granted: tuple[DiscountLine, ...] = (),
) -> Order:
    """Create an order from (product_id, qty) items: re-price (with the discount codes, through
    the registered discount sources), reserve stock atomically (each line from one branch), one
    parcel per (fulfilling branch, vendor) group (`parcel_group`). Idempotent per Idempotency-Key (see find_by_idempotency_key);
    raises OutOfStock, or CodeRefused for a code that no longer applies, and leaves nothing
    behind on rollback. The "placed" handlers reserve the discounts' uses in this transaction.
    `shipping` overrides the default rate and `granted` adds discounts the business grants
    (after-sales replacements: free and shipped free)."""
    merged: dict[int, int] = defaultdict(int)
    for pid, qty in items:
        merged[pid] += qty
    items = [(pid, qty) for pid, qty in merged.items() if qty > 0]
    if not items:
        raise CartEmpty("Add something to the cart before checking out.")
    totals, products = await price_items(
        session,
        items,
        currency=currency,
        basket=Basket(
            branch_id=branch_id,
            currency=currency,
            lines=[],
            codes=tuple(codes),
            customer_id=customer_id,
            email=body.email,
            channel=channel,
        ),
        shipping=shipping,
        extra=tuple(granted),
    )
    order = Order(
        token=secrets.token_urlsafe(24),
        idempotency_key=idempotency_key,
        request_hash=fingerprint,
        cart_id=cart_id,
        customer_id=customer_id,
        branch_id=branch_id,
        created_by_id=actor.user_id,
        shift_id=actor.shift_id,
        status=OrderStatus.PLACED,
        currency=currency,
        subtotal_minor=totals.subtotal_minor,
        discount_minor=totals.discount_minor,
        tax_minor=totals.tax_minor,
        shipping_minor=totals.shipping_minor,
        total_minor=totals.total_minor,
        payment_method=body.payment_method or BROWSER_CARD,
        placed_at=utcnow(),
        **body.model_dump(exclude={"payment_method"}),
    )
    session.add(order)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise IdempotencyKeyReused("A checkout with this Idempotency-Key is already in progress.") from exc
    allocations = await catalog.reserve(
        session, actor=actor, order_id=order.id, items=items, prefer_branch_id=branch_id
    )
    by_product = {a.product_id: a.branch_id for a in allocations}
    group_of = {
        ln.product_id: parcel_group(by_product[ln.product_id], products[ln.product_id].vendor_id)
        for ln in totals.lines
    }
    parcels: dict[tuple[int, int | None], Parcel] = {}
    for bid, vid in sorted(set(group_of.values()), key=_group_order):
        parcels[bid, vid] = Parcel(
            order_id=order.id,
            branch_id=bid,
            vendor_id=vid,
            status=ParcelStatus.PENDING,
            created_by_id=actor.user_id,
        )
        session.add(parcels[bid, vid])
    await session.flush()
    for line in totals.lines:
        group = group_of[line.product_id]
        parcels[group].weight_g += line.qty * line.weight_g
        session.add(
            OrderLine(
                order_id=order.id,
                product_id=line.product_id,
                vendor_id=products[line.product_id].vendor_id,
                sku=line.sku,
                name=line.name,
                qty=line.qty,
                unit_price_minor=line.unit_price_minor,
                tax_rate_bp=line.tax_rate_bp,
                tax_minor=line.tax_minor,
                line_total_minor=line.line_total_minor,
                weight_g=line.weight_g,
                fulfil_branch_id=group[0],
                parcel_id=parcels[group].id,
            )
        )
    for group, parcel in parcels.items():
        packed = [
            (
                ln.qty,
                products[ln.product_id].length_mm,
                products[ln.product_id].width_mm,
                products[ln.product_id].height_mm,
            )
            for ln in totals.lines
            if group_of[ln.product_id] == group
        ]
        parcel.length_mm, parcel.width_mm, parcel.height_mm = box_for(packed)
    # The order belongs to the branch shipping most of it (by weight); parcels keep their own.
    weight: dict[int, int] = defaultdict(int)
    for (bid, _vid), parcel in parcels.items():
        weight[bid] += parcel.weight_g
    order.branch_id = max(weight, key=lambda b: (weight[b], -b))
    await session.flush()
    await add_event(
        session,
        order_id=order.id,
        kind="placed",
        actor_name=actor.name,
        message=f"Order placed: {totals.item_count} item(s), {len(parcels)} parcel(s).",
    )
    await audit.record(
        session,
        actor=actor,
        action="order.place",
        entity_type="order",
        entity_id=order.id,
        branch_id=order.branch_id,
        after=audit.snapshot(order),
    )
    placed = {"discounts": [d.model_dump() for d in totals.discounts], "codes": list(codes)}
    await events.emit(session, events.OrderChange(order, "placed", f"order-{order.id}:placed", actor, placed))
    return order


def parcel_group(branch_id: int, vendor_id: int | None) -> tuple[int, int | None]:
    """Which parcel a line ships in: one per (shipping branch, marketplace vendor or None for
    the shop's own stock). A vendor packs and ships its own parcel; the shop's lines from one
    branch share one box. Pure."""
    return branch_id, vendor_id


def _group_order(group: tuple[int, int | None]) -> tuple[int, int, int]:
    # The shop's own parcel of a branch first, then its vendors' (parcel ids follow this order).
    bid, vid = group
    return bid, vid is not None, vid or 0


async def get_order(session: AsyncSession, order_id: int, *, lock: bool = False) -> Order:
    """One order. With `lock`, its row stays locked to this transaction (PostgreSQL: FOR
    UPDATE; SQLite's write transactions are serial already): for a read-check-write. Locking
    it again in the same (sub)transaction reads nothing: the session's copy is current."""
    if lock:
        current = session.sync_session.get_nested_transaction() or session.sync_session.get_transaction()
        held = session.info.get(_LOCKED)
        if held is not None and held[0] is current and order_id in held[1]:
            order = await session.get(Order, order_id)
            if order is not None:
                return order
    order = await session.get(Order, order_id, with_for_update=True if lock else None)
    if order is None:
        raise OrderNotFound(f"Order {order_id} does not exist.")
    if lock:
        if held is None or held[0] is not current:
            held = session.info[_LOCKED] = (current, set())
        held[1].add(order_id)
    return order


# session.info: (the (sub)transaction, ids of the orders it locked). Kept per transaction
# object, so a new transaction, or a savepoint (whose rollback releases its locks), locks again.
_LOCKED = "orders.locked"


async def get_by_token(session: AsyncSession, token: str) -> Order:
    order = await session.scalar(select(Order).where(Order.token == token))
    if order is None:
        raise OrderNotFound("No order has this link.")
    return order


async def lines_of(session: AsyncSession, order_id: int) -> list[OrderLine]:
    return list(
        await session.scalars(select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.id))
    )


async def parcels_of(session: AsyncSession, order_id: int) -> list[Parcel]:
    return list(await session.scalars(select(Parcel).where(Parcel.order_id == order_id).order_by(Parcel.id)))


async def events_of(session: AsyncSession, order_id: int) -> list[OrderEvent]:
    return list(
        await session.scalars(
            select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.at, OrderEvent.id)
        )
    )


async def payments_of(session: AsyncSession, order_id: int) -> list[PaymentEntry]:
    return list(
        await session.scalars(
            select(PaymentEntry).where(PaymentEntry.order_id == order_id).order_by(PaymentEntry.id)
        )
    )


async def list_orders(
    session: AsyncSession, *, filt: OrderFilter, branch_ids: set[int] | None, vendor_id: int | None = None
) -> Page:
    """Orders visible to the caller (branches, vendor), filtered, keyset-paged. Read-only."""
    stmt = select(Order)
    if branch_ids is not None:
        stmt = stmt.where(Order.branch_id.in_(branch_ids or {-1}))
    if vendor_id is not None:
        stmt = stmt.where(Order.id.in_(select(OrderLine.order_id).where(OrderLine.vendor_id == vendor_id)))
    if filt.status:
        stmt = stmt.where(Order.status == filt.status)
    if filt.branch_id:
        stmt = stmt.where(Order.branch_id == filt.branch_id)
    if filt.customer_id:
        stmt = stmt.where(Order.customer_id == filt.customer_id)
    if filt.q:
        stmt = stmt.where(
            or_(
                contains_text(Order.email, filt.q),
                contains_text(Order.ship_name, filt.q),
            )
        )
    col = Order.placed_at if filt.sort == "placed" else Order.total_minor
    return await paginate(
        session,
        stmt,
        sort_col=col,
        id_col=Order.id,
        limit=filt.limit,
        cursor=filt.cursor,
        descending=filt.desc,
    )


async def add_event(
    session: AsyncSession,
    *,
    order_id: int,
    kind: str,
    message: str,
    actor_name: str | None = None,
    key: str | None = None,
    data: dict | None = None,
) -> OrderEvent | None:
    """Append to the order's timeline. Idempotent when `key` is given (a repeat returns None)."""
    if key and await session.scalar(select(OrderEvent.id).where(OrderEvent.key == key)):
        return None
    return _append(
        session, order_id=order_id, kind=kind, message=message, actor_name=actor_name, key=key, data=data
    )


def _append(session: AsyncSession, **fields) -> OrderEvent:
    """Add a timeline row; it goes in with the transaction's next flush (one insert for a
    unit of work's rows)."""
    ev = OrderEvent(**fields, at=utcnow())
    session.add(ev)
    return ev


async def set_status(
    session: AsyncSession,
    *,
    actor: Actor,
    order_id: int,
    status: str,
    message: str,
    key: str,
    customer_message: str | None = None,
    data: dict | None = None,
) -> Order:
    """Move the order to `status` with a timeline entry and an audit event. Idempotent per key."""
    order = await get_order(session, order_id, lock=True)
    if await session.scalar(select(OrderEvent.id).where(OrderEvent.key == key)):
        return order
    before = {"status": order.status, "customer_message": order.customer_message}
    order.status = status
    if customer_message is not None:
        order.customer_message = customer_message
    _append(
        session, order_id=order_id, kind=status, message=message, actor_name=actor.name, key=key, data=data
    )
    await audit.record(
        session,
        actor=actor,
        action=f"order.{status}",
        entity_type="order",
        entity_id=order_id,
        branch_id=order.branch_id,
        before=before,
        after={"status": status, "customer_message": order.customer_message},
    )
    await events.emit(session, events.OrderChange(order, status, key, actor, data or {}))
    return order


async def ledger(
    session: AsyncSession,
    *,
    actor: Actor,
    order: Order,
    kind: str,
    status: str,
    amount_minor: int,
    idempotency_key: str,
    intent_id: str | None = None,
    gateway_ref: str | None = None,
    message: str | None = None,
) -> PaymentEntry:
    """Record one money movement (or failure). Idempotent per idempotency_key."""
    existing = await session.scalar(
        select(PaymentEntry).where(PaymentEntry.idempotency_key == idempotency_key)
    )
    if existing is not None:
        return existing
    entry = PaymentEntry(
        order_id=order.id,
        branch_id=order.branch_id,
        kind=kind,
        status=status,
        amount_minor=amount_minor,
        currency=order.currency,
        intent_id=intent_id,
        gateway_ref=gateway_ref,
        message=message,
        idempotency_key=idempotency_key,
        created_by_id=actor.user_id,
    )
    session.add(entry)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=f"payment.{kind}",
        entity_type="order",
        entity_id=order.id,
        branch_id=order.branch_id,
        after=audit.snapshot(entry),
    )
    return entry


async def raise_alert(
    session: AsyncSession,
    *,
    actor: Actor,
    kind: str,
    severity: str,
    subject_type: str,
    subject_id: str,
    branch_id: int,
    message: str,
    key: str,
) -> Alert:
    """Open an exception alert for people to handle. Idempotent per key."""
    existing = await session.scalar(select(Alert).where(Alert.key == key))
    if existing is not None:
        return existing
    alert = Alert(
        kind=kind,
        severity=severity,
        subject_type=subject_type,
        subject_id=subject_id,
        branch_id=branch_id,
        message=message,
        key=key,
        status=AlertStatus.OPEN,
        created_by_id=actor.user_id,
    )
    session.add(alert)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="alert.raise",
        entity_type="alert",
        entity_id=alert.id,
        branch_id=branch_id,
        after=audit.snapshot(alert),
    )
    return alert


async def alert_order(
    session: AsyncSession,
    *,
    actor: Actor,
    order: Order,
    kind: str,
    severity: str,
    message: str,
    key: str,
    event_key: str | None = None,
) -> Alert:
    """Open an alert about the order and note it on the order's timeline. Idempotent per key
    (and `event_key`, default `{key}:event`)."""
    alert = await raise_alert(
        session,
        actor=actor,
        kind=kind,
        severity=severity,
        subject_type="order",
        subject_id=str(order.id),
        branch_id=order.branch_id,
        message=message,
        key=key,
    )
    await add_event(
        session, order_id=order.id, kind=f"alert_{kind}", message=message, key=event_key or f"{key}:event"
    )
    return alert


async def update_parcel(
    session: AsyncSession, *, actor: Actor, parcel_id: int, to: str, allowed_from: tuple[str, ...], **values
) -> Parcel | None:
    """Conditional parcel transition; None when it was already done or not allowed. Idempotent."""
    stamp = {
        "picked": "picked_at",
        "packed": "packed_at",
        "shipped": "shipped_at",
        "delivered": "delivered_at",
        "labelled": "labelled_at",
        "voided": "voided_at",
    }.get(to)
    if stamp:
        values[stamp] = utcnow()
    # One statement: the row comes back updated (RETURNING), and replaces what the session held.
    parcel = (
        await session.execute(
            update(Parcel)
            .where(Parcel.id == parcel_id, Parcel.status.in_(allowed_from))
            .values(status=to, **values)
            .returning(Parcel)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
    ).scalar_one_or_none()
    if parcel is None:
        # Nothing written (done before, or not allowed): the session still sees the row as it is.
        await session.refresh(await session.get(Parcel, parcel_id))
        return None
    # No flush sees a bulk UPDATE: its report days are noted here. The state machine only moves
    # forward, so a stamp is written once and the row's days before the write are its days now.
    rollups.note(session, Parcel, parcel)
    await audit.record(
        session,
        actor=actor,
        action=f"parcel.{to}",
        entity_type="order",
        entity_id=parcel.order_id,
        branch_id=parcel.branch_id,
        after={
            "parcel_id": parcel_id,
            "status": to,
            **{k: v for k, v in values.items() if not isinstance(v, datetime)},
        },
    )
    return parcel


async def seen_webhook(
    session: AsyncSession, *, provider: str, event_id: str, type: str, payload: dict
) -> bool:
    """Remember a provider event; True when it was already received (drop it). Idempotent."""
    if await session.scalar(
        select(WebhookEvent.id).where(WebhookEvent.provider == provider, WebhookEvent.event_id == event_id)
    ):
        return True
    session.add(WebhookEvent(provider=provider, event_id=event_id, type=type, payload=payload))
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        return True
    return False


async def open_alerts(session: AsyncSession, *, subject_type: str, subject_id: str) -> list[Alert]:
    return list(
        await session.scalars(
            select(Alert)
            .where(Alert.subject_type == subject_type, Alert.subject_id == subject_id)
            .order_by(Alert.id)
        )
    )


async def order_detail(session: AsyncSession, order: Order, settings) -> OrderDetail:
    """The order with its lines, parcels, timeline, payments and its workflow in the Temporal UI. Read-only."""
    return OrderDetail(
        **OrderRead.model_validate(order).model_dump(),
        lines=[OrderLineRead.model_validate(x) for x in await lines_of(session, order.id)],
        parcels=[ParcelRead.model_validate(x) for x in await parcels_of(session, order.id)],
        events=[OrderEventRead.model_validate(e) for e in await events_of(session, order.id)],
        payments=[PaymentEntryRead.model_validate(e) for e in await payments_of(session, order.id)],
        workflow_url=temporal.workflow_url(settings, workflow_id(order.id, settings.workflow_prefix)),
    )


async def start_input(session: AsyncSession, order: Order, settings, *, auto_fulfil: bool | None = None):
    """The OrderFulfillmentWorkflow input: the order's facts plus today's configuration. Read-only."""
    from backroom.orders.flow import ORDER_REV, OrderStart, ParcelRef

    lines = await lines_of(session, order.id)
    parcels = await parcels_of(session, order.id)
    reason = review_reason(
        total_minor=order.total_minor,
        units=sum(ln.qty for ln in lines),
        ship_postcode=order.ship_postcode,
        billing_postcode=order.billing_postcode,
        review_over_minor=settings.order_review_over_minor,
        units_over=settings.order_review_units_over,
    )
    return OrderStart(
        order_id=order.id,
        branch_id=order.branch_id,
        customer_id=order.customer_id,
        total_minor=order.total_minor,
        currency=order.currency,
        parcels=[ParcelRef(id=p.id, branch_id=p.branch_id, vendor_id=p.vendor_id) for p in parcels],
        review_reason=reason,
        refund_approval_over_minor=settings.refund_approval_over_minor,
        pick_timeout_hours=settings.pick_timeout_hours,
        vendor_ship_days=settings.vendor_ship_days,
        auth_timeout_minutes=settings.payment_auth_timeout_minutes,
        promised_days=settings.promised_delivery_days,
        auto_fulfil=settings.order_auto_fulfil if auto_fulfil is None else auto_fulfil,
        rev=ORDER_REV,
    )
