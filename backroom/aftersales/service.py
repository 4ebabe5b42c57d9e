"""After-sales cases (RMA): opening a case (warranty decides the price; refunds check the
return window), the transitions RmaCaseWorkflow makes (each audited, with the case timeline),
labels, refunds, replacements, restocking, SLA breaches, quote links, queues. Services only
flush; gateway and carrier calls happen in the activities, around these."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom import timeline
from backroom.aftersales.errors import CaseStateError, QuoteLinkInvalid, ReturnWindowPassed
from backroom.aftersales.flow import (
    FINAL,
    RMA_WORKFLOW,
    STEPS,
    WAITING_ON_CUSTOMER,
    CaseAction,
    LabelResult,
    RmaInput,
    Transition,
    next_steps,
    rma_workflow_id,
)
from backroom.aftersales.models import CaseKind, CaseState, RmaCase, RmaEvent, RmaQuoteLine
from backroom.aftersales.schemas import (
    CaseCreate,
    CaseDetail,
    CaseEventRead,
    CaseRead,
    QuoteLineRead,
    SlaRead,
)
from backroom.alerts import service as alerts
from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.branches import service as branches
from backroom.branches.models import Branch
from backroom.carts.pricing import DiscountLine, ShippingRule
from backroom.catalog import service as catalog
from backroom.catalog.models import Product, StockMovement
from backroom.customers import service as customers
from backroom.customers.models import Customer
from backroom.db.base import utcnow
from backroom.errors import InvalidInput, Refused, not_found
from backroom.money import format_money
from backroom.notifications import service as notify
from backroom.orders import charges, parcels
from backroom.orders import service as orders
from backroom.orders.flow import ORDER_WORKFLOW
from backroom.orders.models import OrderEvent, OrderLine
from backroom.orders.schemas import CheckoutRequest
from backroom.payments.gateway import RefundResult
from backroom.shipping.carrier import Address, Label
from backroom.shipping.carrier import Parcel as ShipParcel
from backroom.sla import ALWAYS, SlaInfo, WorkCalendar, clock_used, finished, resumed_due, running
from backroom.starts import service as starts
from backroom.warranty import service as warranty

_QUOTE_SALT = "rma-quote"
OPEN_STATES = tuple(s for s in CaseState if s not in FINAL)
# The technician's work list: repairs that wait on the workshop.
WORKSHOP = (CaseState.RECEIVED, CaseState.DIAGNOSED, CaseState.IN_REPAIR, CaseState.QUALITY_CHECK)


async def get(session: AsyncSession, case_id: int) -> RmaCase:
    c = await session.get(RmaCase, case_id)
    if c is None:
        raise not_found("Case", case_id)
    return c


def workflow_input(c: RmaCase, settings, calendar: WorkCalendar | None = None) -> RmaInput:
    """The case workflow's input; `calendar`: the branch's working calendar its clock counts."""
    money = (c.refund_minor or 0) if c.kind == CaseKind.REFUND else (c.quote_minor or 0)
    return RmaInput(
        case_id=c.id,
        branch_id=c.branch_id,
        kind=c.kind,
        title=f"{c.kind} case #{c.id}",
        under_warranty=c.under_warranty,
        by_post=c.by_post,
        sla_minutes=c.sla_minutes,
        calendar=calendar,
        quote_days=settings.rma_quote_days,
        money_minor=money,
        currency=c.currency,
        approval_over_minor=settings.refund_approval_over_minor,
        promised_days=settings.promised_delivery_days,
        start_state=c.state,
    )


async def _event(session: AsyncSession, c: RmaCase, kind: str, *, actor: Actor, **fields) -> None:
    """A timeline entry of the case (`fields`: detail, key, at, from_state, to_state)."""
    await timeline.add(session, RmaEvent, actor=actor, kind=kind, case_id=c.id, **fields)


async def _seen(session: AsyncSession, key: str) -> bool:
    return await timeline.seen(session, RmaEvent, key)


async def _audit(session: AsyncSession, c: RmaCase, action: str, actor: Actor, before: dict | None) -> None:
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=f"rma.{action}",
        entity_type="rma_case",
        entity_id=c.id,
        branch_id=c.branch_id,
        before=before,
        after=audit.snapshot(c),
    )


async def _delivered_at(session: AsyncSession, order_id: int) -> datetime | None:
    return await session.scalar(
        select(OrderEvent.at)
        .where(OrderEvent.order_id == order_id, OrderEvent.kind == "delivered")
        .order_by(OrderEvent.at)
        .limit(1)
    )


async def branch_for(session: AsyncSession, data: CaseCreate) -> int | None:
    """The branch a new case will belong to, for the permission check before opening it: its
    order's, else its customer's (given, or the owner of the registered serial). Read-only."""
    if data.order_line_id:
        line = await session.get(OrderLine, data.order_line_id)
        if line is None:
            raise not_found("Order line", data.order_line_id)
        return (await orders.get_order(session, line.order_id)).branch_id
    customer_id = data.customer_id
    if customer_id is None and data.serial:
        rows = await warranty.lookup(session, branch_ids=None, serial=data.serial, limit=1)
        customer_id = rows[0][0].customer_id if rows else None
    customer = await session.get(Customer, customer_id) if customer_id else None
    if customer_id and customer is None:
        raise not_found("Customer", customer_id)
    return customer.home_branch_id if customer else None


async def open_case(
    session: AsyncSession, *, actor: Actor, data: CaseCreate, settings, via: str = "staff"
) -> RmaCase:
    """Open a return or repair case from a customer, an order line or a serial number, and
    queue its workflow (rma-{id}). The warranty decides the price; a refund checks the order's
    return window. Not idempotent (a new case)."""
    line = order = None
    if data.order_line_id:
        line = await session.get(OrderLine, data.order_line_id)
        if line is None:
            raise not_found("Order line", data.order_line_id)
        order = await orders.get_order(session, line.order_id)
    product_id = line.product_id if line else data.product_id
    customer_id = data.customer_id or (order.customer_id if order else None)
    found = None
    if data.serial and not product_id:
        rows = await warranty.lookup(session, branch_ids=None, serial=data.serial, limit=1)
        if rows:
            found = rows[0][0]
            product_id, customer_id = found.product_id, customer_id or found.customer_id
    if not product_id:
        raise Refused(
            "Choose the item: an order line, a product or a registered serial number.", field="product_id"
        )
    if not customer_id:
        raise Refused("Choose the customer.", field="customer_id")
    customer = await customers.writable(session, customer_id)
    product = await session.get(Product, product_id)
    if product is None:
        raise not_found("Product", product_id)
    if order is not None and order.customer_id not in (None, customer.id):
        raise Refused("This order belongs to another customer.", field="order_line_id")
    now = utcnow()
    cover = (
        found
        if found and warranty.covers(found, now)
        else await warranty.covering(
            session,
            product_id=product.id,
            at=now,
            customer_id=customer.id,
            serial=data.serial,
            order_id=order.id if order else None,
        )
    )
    refund_minor = None
    if data.kind in (CaseKind.REFUND, CaseKind.EXCHANGE):
        if line is None:
            raise Refused("A return needs the order line it returns.", field="order_line_id")
        delivered = await _delivered_at(session, order.id)
        if delivered is None:
            raise ReturnWindowPassed(
                "The order has not been delivered yet: cancel or refund the order instead."
            )
        if delivered + timedelta(days=settings.return_window_days) < now:
            raise ReturnWindowPassed(
                f"The return window of {settings.return_window_days} days after delivery has passed."
            )
        if data.kind == CaseKind.REFUND:
            unit = (line.line_total_minor + line.tax_minor) // line.qty
            refund_minor = min(unit, order.captured_minor - order.refunded_minor)
            if refund_minor <= 0:
                raise CaseStateError(f"Nothing is left to refund on order #{order.id}.")
    by_post = data.by_post if data.by_post is not None else order is not None
    if by_post and order is None:
        raise InvalidInput(
            "Labels need an order to ship to; take the item over the counter.", field="by_post"
        )
    branch_id = order.branch_id if order else customer.home_branch_id
    cal = await branches.work_calendar(session, branch_id)
    minutes = sla_minutes(settings, data.kind, cal)
    c = RmaCase(
        kind=data.kind,
        state=CaseState.REQUESTED,
        customer_id=customer.id,
        product_id=product.id,
        order_id=order.id if order else None,
        order_line_id=line.id if line else None,
        warranty_id=cover.id if cover else None,
        serial=data.serial or (cover.serial if cover else None),
        under_warranty=cover is not None,
        reason=data.reason,
        opened_via=via,
        currency=order.currency if order else product.currency,
        refund_minor=refund_minor,
        # The replacement's value is what the approval gate weighs for an exchange.
        quote_minor=product.price_minor if data.kind == CaseKind.EXCHANGE else None,
        by_post=by_post,
        sla_minutes=minutes,
        due_at=cal.add(now, timedelta(minutes=minutes)),
        created_at=now,  # the clock starts when the case is opened: the due time counts from it
        branch_id=branch_id,
        created_by_id=actor.user_id,
        shift_id=actor.shift_id,
    )
    session.add(c)
    await session.flush()
    c.workflow_id = rma_workflow_id(c.id)
    cover_text = f"under warranty #{cover.id}" if cover else "not under warranty"
    await _event(
        session,
        c,
        "requested",
        actor=actor,
        detail=f"{product.name}: {data.reason} ({cover_text})",
        to_state=c.state,
        at=now,
    )
    await _audit(session, c, "open", actor, None)
    await starts.enqueue(
        session,
        run=RMA_WORKFLOW,
        arg=workflow_input(c, settings, cal),
        workflow_id=c.workflow_id,
        branch_id=c.branch_id,
        customer_id=c.customer_id,
        order_id=c.order_id,
    )
    await notify.enqueue(
        session,
        kind="rma.received",
        to_customer_id=customer.id,
        branch_id=c.branch_id,
        subject=f"Your {c.kind} request #{c.id}",
        body=f"Dear {customer.name},\n\nwe registered your request #{c.id} about your {product.name}"
        f" ({cover_text}). We will tell you what happens next.",
        dedupe_key=f"rma-{c.id}:received",
    )
    return c


async def note(
    session: AsyncSession, *, actor: Actor, case_id: int, text: str | None, serial: str | None
) -> RmaCase:
    """Add a note to the timeline (a call with the customer) or record the serial number."""
    c = await get(session, case_id)
    if not (text or serial):
        raise Refused("Write a note or give the serial number.", field="note")
    before = audit.snapshot(c)
    if serial:
        c.serial = serial
    await _event(session, c, "note", actor=actor, detail=text or f"serial {serial}")
    await _audit(session, c, "note", actor, before)
    return c


def sla_minutes(settings, kind: str, cal: WorkCalendar) -> int:
    """A kind's turnaround target in working minutes: the minutes set for it, else its working
    days times the length of the branch's working day. Pure."""
    if kind in settings.aftersales_sla:
        return settings.aftersales_sla[kind]
    return round(settings.aftersales_sla_days.get(kind, 10) * cal.day_minutes)


def _set_clock(c: RmaCase, to_state: str, at: datetime, cal: WorkCalendar) -> None:
    """Project the workflow's SLA clock: it stops while waiting on the customer, and the
    deadline moves by the working time waited."""
    waiting = to_state in WAITING_ON_CUSTOMER
    if waiting and c.paused_at is None:
        c.paused_at = at
    elif not waiting and c.paused_at is not None:
        c.due_at = resumed_due(c.due_at, c.paused_at, at, cal)
        c.paused_at = None


async def _restock(session: AsyncSession, c: RmaCase, *, actor: Actor, damaged: bool) -> str:
    """The returned unit: back on sale in the case's branch, or written off as damaged."""
    if damaged:
        session.add(
            StockMovement(
                product_id=c.product_id,
                kind="damaged",
                reason=f"damaged return, case #{c.id}",
                reference=f"rma-{c.id}",
                branch_id=c.branch_id,
                created_by_id=actor.user_id,
            )
        )
        c.damaged = True
        return "written off as damaged"
    await catalog.adjust_stock(
        session,
        actor=actor,
        product_id=c.product_id,
        branch_id=c.branch_id,
        delta=1,
        reason=f"return, case #{c.id}",
    )
    c.restocked = True
    return "back in stock"


async def _quote_approved(session: AsyncSession, case_id: int) -> bool:
    return bool(
        await session.scalar(
            select(RmaEvent.id).where(
                RmaEvent.case_id == case_id, RmaEvent.to_state == CaseState.QUOTE_APPROVED
            )
        )
    )


async def transition(session: AsyncSession, *, actor: Actor, t: Transition) -> RmaCase:
    """Move the case as its workflow decided, with what the step carries (inspection, diagnosis,
    quote lines), its timeline entry and its audit event. Idempotent by the transition's key."""
    c = await get(session, t.case_id)
    if await _seen(session, t.key):
        return c
    before = audit.snapshot(c)
    step: CaseAction | None = t.step
    detail = t.detail or (STEPS[t.action].label if t.action in STEPS else None)
    if step and step.note:
        detail = f"{detail}: {step.note}" if detail else step.note
    if t.action == "receive" and c.kind in (CaseKind.REFUND, CaseKind.EXCHANGE):
        detail = (
            f"{detail} ({await _restock(session, c, actor=actor, damaged=step.damaged if step else False)})"
        )
    elif t.action == "receive" and step and step.damaged:
        c.damaged = True
    if t.action == "diagnose" and step:
        c.diagnosis, c.technician_id = step.diagnosis or step.note, step.user_id
    if t.action == "quote" and step:
        if not step.lines:
            raise InvalidInput("A quote needs at least one part or labour line.", field="lines")
        total = 0
        for ln in step.lines:
            session.add(
                RmaQuoteLine(
                    case_id=c.id,
                    kind=ln.kind,
                    description=ln.description,
                    qty=ln.qty,
                    unit_minor=ln.unit_minor,
                    total_minor=ln.qty * ln.unit_minor,
                )
            )
            total += ln.qty * ln.unit_minor
        c.quote_minor = total
        detail = f"Quote {format_money(total, c.currency)}"
    if t.to_state == CaseState.RETURNED:
        if c.restocked:  # a refused return goes back to its owner: off the shelf again
            await catalog.adjust_stock(
                session,
                actor=actor,
                product_id=c.product_id,
                branch_id=c.branch_id,
                delta=-1,
                reason=f"returned to the customer, case #{c.id}",
            )
            c.restocked = False
        if c.kind == CaseKind.REPAIR and await _quote_approved(session, c.id):
            c.charged_minor = c.quote_minor or 0  # paid at hand-over: repair revenue
    from_state = c.state
    c.state = t.to_state
    _set_clock(c, t.to_state, t.at, await branches.work_calendar(session, c.branch_id))
    if t.to_state in (CaseState.RETURNED, CaseState.REPLACED, CaseState.REFUNDED, CaseState.CANCELLED):
        c.outcome = t.to_state
    if t.to_state in FINAL:
        c.closed_at = t.at
        c.paused_at = None
    await _event(
        session,
        c,
        t.action,
        actor=actor,
        detail=detail,
        key=t.key,
        at=t.at,
        from_state=from_state,
        to_state=c.state,
    )
    await _audit(session, c, t.action, actor, before)
    return c


def quote_token(secret: str, case_id: int, quote_minor: int) -> str:
    """The signed link's token: the case and the quoted amount (a new quote needs a new link)."""
    return URLSafeSerializer(secret, salt=_QUOTE_SALT).dumps([case_id, quote_minor])


async def case_from_token(session: AsyncSession, secret: str, token: str) -> RmaCase:
    """The case a quote link is for; refuses a forged link or one for an older quote. Read-only."""
    try:
        case_id, quoted = URLSafeSerializer(secret, salt=_QUOTE_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        raise QuoteLinkInvalid("This quote link is not valid.") from None
    c = await session.get(RmaCase, case_id)
    if c is None or c.quote_minor != quoted:
        raise QuoteLinkInvalid("This quote link is not valid any more.")
    return c


async def send_quote(
    session: AsyncSession,
    *,
    case_id: int,
    base_url: str,
    secret: str,
    reminder: bool,
    key: str,
    due_at: datetime,
) -> bool:
    """E-mail the quote (or its one reminder) with the signed link to approve or decline.
    A service message about the customer's own repair: sent without marketing consent.
    Idempotent by key."""
    if await _seen(session, key):
        return False
    c = await get(session, case_id)
    c.quote_due_at = due_at
    product = await session.get(Product, c.product_id)
    lines = await quote_lines(session, c.id)
    link = f"{base_url.rstrip('/')}/rma/quote/{quote_token(secret, c.id, c.quote_minor or 0)}"
    body = "\n".join(
        [
            f"Your {product.name} (case #{c.id}) is not under warranty. Our quote:",
            "",
            *(f"  {ln.qty} x {ln.description}: {format_money(ln.total_minor, c.currency)}" for ln in lines),
            f"  Total: {format_money(c.quote_minor or 0, c.currency)}",
            "",
            f"Approve or decline by {due_at:%Y-%m-%d}: {link}",
            "Without an answer we return the item unrepaired.",
        ]
    )
    await timeline.notice(
        session,
        RmaEvent,
        owner={"case_id": c.id},
        key=key,
        actor=Actor.workflow(c.workflow_id),
        event="quote_reminder" if reminder else "quote_mailed",
        detail=f"answer due {due_at:%Y-%m-%d}",
        kind="rma.quote_reminder" if reminder else "rma.quote",
        to_customer_id=c.customer_id,
        branch_id=c.branch_id,
        subject=f"{'Reminder: ' if reminder else ''}your repair quote for case #{c.id}",
        body=body,
        link=link,
    )
    return True


# ---- labels ------------------------------------------------------------------------------
def stored_label(c: RmaCase, leg: str) -> LabelResult | None:
    """The label an earlier attempt already bought for this leg, if any."""
    label_id = c.return_label_id if leg == "return" else c.outbound_label_id
    if not label_id:
        return None
    tracking = c.return_tracking if leg == "return" else c.outbound_tracking
    return LabelResult(label_id=label_id, tracking_number=tracking or "", carrier="")


async def label_route(
    session: AsyncSession, *, case_id: int, settings
) -> tuple[RmaCase, Address, Address, ShipParcel]:
    """(case, our address, the customer's address, the box) for a label. Read-only."""
    c = await get(session, case_id)
    if c.order_id is None:
        raise CaseStateError(f"Case #{c.id} has no order to ship to.")
    order = await orders.get_order(session, c.order_id)
    branch = await session.get(Branch, c.branch_id)
    product = await session.get(Product, c.product_id)
    box = ShipParcel(
        weight_grams=max(product.weight_g, parcels.MIN_WEIGHT_G), length_mm=300, width_mm=200, height_mm=150
    )
    return c, parcels.ship_from(settings, branch), parcels.ship_to(order), box


async def record_label(
    session: AsyncSession, *, actor: Actor, case_id: int, leg: str, label: Label, path: str | None, key: str
) -> LabelResult:
    """Store a bought label on the case with a timeline entry. Idempotent."""
    c = await get(session, case_id)
    if stored_label(c, leg) is None:
        before = audit.snapshot(c)
        if leg == "return":
            c.return_label_id, c.return_tracking, c.return_label_path = (
                label.label_id,
                label.tracking_number,
                path,
            )
        else:
            c.outbound_label_id, c.outbound_tracking, c.outbound_label_path = (
                label.label_id,
                label.tracking_number,
                path,
            )
        await _event(
            session,
            c,
            f"{leg}_label",
            actor=actor,
            key=key,
            detail=f"{label.carrier} {label.service}, tracking {label.tracking_number}",
        )
        await _audit(session, c, f"{leg}_label", actor, before)
        if leg == "return":
            await notify.enqueue(
                session,
                kind="rma.return_label",
                to_customer_id=c.customer_id,
                branch_id=c.branch_id,
                subject=f"Your prepaid return label for case #{c.id}",
                body=f"Send the item to us with tracking number {label.tracking_number}; the label is prepaid.",
                dedupe_key=f"{key}:mail",
            )
    return LabelResult(label_id=label.label_id, tracking_number=label.tracking_number, carrier=label.carrier)


def label_file(settings, case_id: int, leg: str) -> Path:
    return Path(settings.var_dir) / "labels" / f"rma-{case_id}-{leg}.pdf"


# ---- money -------------------------------------------------------------------------------
async def refund_target(session: AsyncSession, *, case_id: int) -> tuple[RmaCase, str, int]:
    """(case, payment intent, amount) for the case's refund. Read-only."""
    c = await get(session, case_id)
    order = await orders.get_order(session, c.order_id)
    if not order.payment_intent_id:
        raise CaseStateError(f"Order #{order.id} has no card payment to refund.")
    return c, order.payment_intent_id, c.refund_minor or 0


async def record_refund(
    session: AsyncSession, *, actor: Actor, case_id: int, result: RefundResult, key: str
) -> None:
    """The refund in the order's payment ledger and on the case. Idempotent per key."""
    c = await get(session, case_id)
    await charges.record_refund(
        session, actor=actor, order_id=c.order_id, result=result, key=key, reason=f"Return, case #{c.id}"
    )
    if c.refund_id is None:
        c.refund_id, c.refunded_at = result.refund_id, utcnow()
        await session.flush()
        await orders.add_event(
            session,
            order_id=c.order_id,
            kind="rma_refund",
            message=f"Refunded {format_money(result.amount_minor, result.currency)} for return case #{c.id}.",
            key=f"{key}:order-event",
        )


async def create_replacement(session: AsyncSession, *, actor: Actor, case_id: int, settings) -> int:
    """A zero-price order for the replacement, shipped by the order workflow (queued in the
    outbox). Idempotent: one replacement order per case."""
    c = await get(session, case_id)
    key = f"rma-{c.id}:replacement"
    if (existing := await orders.placed_with_key(session, key)) is not None:
        return existing.id
    original = await orders.get_order(session, c.order_id)
    body = CheckoutRequest(
        email=original.email,
        ship_name=original.ship_name,
        ship_line1=original.ship_line1,
        ship_city=original.ship_city,
        ship_postcode=original.ship_postcode,
        ship_country=original.ship_country,
        payment_method="pm_replacement",
    )
    order = await orders.place_order(
        session,
        actor=actor,
        cart_id=None,
        branch_id=c.branch_id,
        items=[(c.product_id, 1)],
        body=body,
        idempotency_key=key,
        fingerprint=orders.request_hash(0, body),
        currency=original.currency,
        customer_id=c.customer_id,
        granted=(DiscountLine(code=f"RMA-{c.id}", source="aftersales", percent_bp=10000),),
        shipping=ShippingRule(base_minor=0, per_kg_minor=0),
    )
    start = await orders.start_input(session, order, settings)
    await starts.enqueue(
        session,
        run=ORDER_WORKFLOW,
        arg=start,
        workflow_id=orders.workflow_id(order.id, settings.workflow_prefix),
        task_queue=settings.task_queue,
        branch_id=order.branch_id,
        customer_id=order.customer_id,
        order_id=order.id,
    )
    c.replacement_order_id = order.id
    await session.flush()
    return order.id


# ---- SLA ---------------------------------------------------------------------------------
def sla_status(c: RmaCase, now: datetime, cal: WorkCalendar = ALWAYS) -> SlaInfo:
    """The case's turnaround against its kind's target, in the working time of `cal` (its
    branch's calendar). Pure."""
    if c.state in FINAL:
        return finished(breached=c.breached)
    at = c.paused_at or now
    used = clock_used(c.due_at, c.sla_minutes, at, cal)
    return running(used, c.due_at, breached=c.breached, paused=c.paused_at is not None)


async def record_breach(session: AsyncSession, *, actor: Actor, case_id: int, key: str, at: datetime) -> bool:
    """The turnaround target passed: mark the case, raise an alert and tell the branch's
    supervisors. Idempotent by key."""
    if await _seen(session, key):
        return False
    c = await get(session, case_id)
    before = audit.snapshot(c)
    c.breached = True
    product = await session.get(Product, c.product_id)
    await _event(
        session,
        c,
        "sla_breach",
        actor=actor,
        key=key,
        at=at,
        detail=f"turnaround target of {c.sla_minutes / 60:g} working hours passed",
    )
    await _audit(session, c, "breach", actor, before)
    await alerts.raise_alert(
        session,
        key=key,
        kind="aftersales_sla_breach",
        severity="warning",
        branch_id=c.branch_id,
        title=f"{c.kind.title()} case #{c.id} ({product.name}) passed its turnaround target",
        link=f"/aftersales/{c.id}",
        detail=f"State: {c.state.replace('_', ' ')}",
        actor=actor,
        at=at,
    )
    await notify.notify_role(
        session,
        role="supervisor",
        branch_id=c.branch_id,
        kind="rma.escalated",
        subject=f"Case #{c.id} passed its turnaround target",
        body=f"{c.kind.title()} case #{c.id} ({product.name}) is {c.state.replace('_', ' ')} and late.",
        link=f"/aftersales/{c.id}",
        dedupe_prefix=key,
    )
    return True


# ---- reads -------------------------------------------------------------------------------
async def events(session: AsyncSession, case_id: int) -> list[RmaEvent]:
    rows = await session.scalars(
        select(RmaEvent).where(RmaEvent.case_id == case_id).order_by(RmaEvent.at, RmaEvent.id)
    )
    return list(rows)


async def quote_lines(session: AsyncSession, case_id: int) -> list[RmaQuoteLine]:
    rows = await session.scalars(
        select(RmaQuoteLine).where(RmaQuoteLine.case_id == case_id).order_by(RmaQuoteLine.id)
    )
    return list(rows)


async def names(session: AsyncSession, cases: list[RmaCase]) -> tuple[dict[int, str], dict[int, str]]:
    """Customer and product names for a list of cases (pages show names, not ids). Read-only."""
    cids = {c.customer_id for c in cases}
    pids = {c.product_id for c in cases}
    customers = dict(
        (await session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(cids or {-1})))).all()
    )
    products = dict(
        (await session.execute(select(Product.id, Product.name).where(Product.id.in_(pids or {-1})))).all()
    )
    return customers, products


async def queue(
    session: AsyncSession,
    *,
    branch_ids: set[int] | None,
    state: str | None = None,
    kind: str | None = None,
    customer_id: int | None = None,
    order_id: int | None = None,
    include_closed: bool = False,
    now: datetime | None = None,
    limit: int = 200,
) -> list[tuple[RmaCase, SlaInfo]]:
    """Cases riskiest SLA first (breached, then most of the clock used). Read-only."""
    now = now or utcnow()
    stmt = select(RmaCase)
    if state:
        stmt = stmt.where(RmaCase.state == state)
    elif not include_closed:
        stmt = stmt.where(RmaCase.state.in_(OPEN_STATES))
    if kind:
        stmt = stmt.where(RmaCase.kind == kind)
    if customer_id:
        stmt = stmt.where(RmaCase.customer_id == customer_id)
    if order_id:
        stmt = stmt.where(RmaCase.order_id == order_id)
    if branch_ids is not None:
        stmt = stmt.where(RmaCase.branch_id.in_(branch_ids or {-1}))
    rows = list(await session.scalars(stmt.order_by(RmaCase.id.desc()).limit(limit)))
    return await branches.by_sla_risk(session, rows, sla_status, now)


async def work_list(
    session: AsyncSession, *, branch_ids: set[int] | None, now: datetime | None = None
) -> list[tuple[RmaCase, SlaInfo]]:
    """Repairs waiting on the workshop (diagnosis, quote, repair, quality check), riskiest first."""
    rows = await queue(session, branch_ids=branch_ids, kind=CaseKind.REPAIR, now=now)
    return [(c, s) for c, s in rows if c.state in WORKSHOP]


async def reads(session: AsyncSession, rows: list[tuple[RmaCase, SlaInfo]]) -> list[CaseRead]:
    """Cases as people see them: names, SLA, the steps open now. Read-only."""
    customers, products = await names(session, [c for c, _ in rows])
    return [
        CaseRead.model_validate(c).model_copy(
            update={
                "customer_name": customers.get(c.customer_id),
                "product_name": products.get(c.product_id),
                "sla": SlaRead(status=info.status, used=info.used, due_at=info.due_at, paused=info.paused),
                "next_steps": next_steps(kind=c.kind, state=c.state, under_warranty=c.under_warranty),
            }
        )
        for c, info in rows
    ]


async def detail(session: AsyncSession, c: RmaCase) -> CaseDetail:
    """One case with its timeline and quote. Read-only."""
    cal = await branches.work_calendar(session, c.branch_id)
    (base,) = await reads(session, [(c, sla_status(c, utcnow(), cal))])
    return CaseDetail(
        **base.model_dump(),
        events=[CaseEventRead.model_validate(e) for e in await events(session, c.id)],
        quote_lines=[QuoteLineRead.model_validate(ln) for ln in await quote_lines(session, c.id)],
    )
