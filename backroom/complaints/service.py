"""Complaints: logging, first response, waiting on the customer, resolution, reopening,
attachments, and the workflow-side writes (breaches, closing). Services only flush."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.approvals.schemas import ApprovalLevel
from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.branches import service as branches
from backroom.complaints import flow
from backroom.complaints.errors import AttachmentRejected, AttachmentTooLarge, ComplaintStateError
from backroom.complaints.flow import complaint_workflow_id
from backroom.complaints.models import (
    Compensation,
    CompensationStatus,
    Complaint,
    ComplaintAttachment,
    ComplaintEvent,
    ComplaintStatus,
    Level,
    Severity,
)
from backroom.complaints.schemas import ComplaintCreate, QueueFilter
from backroom.complaints.sla import LEVELS, SlaInfo, sla_status
from backroom.controls import thresholds
from backroom.credit import ledger
from backroom.credit.models import EntryKind
from backroom.customers import service as customers
from backroom.customers.models import Customer
from backroom.db.base import utcnow
from backroom.errors import InvalidInput, Refused, not_found
from backroom.money import format_money
from backroom.notifications import service as notify
from backroom.orders import charges
from backroom.orders import service as orders
from backroom.orders.flow import REFUNDED_ELSEWHERE, RefundedElsewhere
from backroom.orders.models import Order
from backroom.pagination import Page, paginate
from backroom.payments.gateway import RefundResult
from backroom.settings import Settings
from backroom.sla import resumed_due
from backroom.starts import service as starts

OPEN = (ComplaintStatus.open, ComplaintStatus.awaiting_customer)
# Allowed attachment types: extension -> (content type, magic prefix or None for text).
ALLOWED = {
    "png": ("image/png", b"\x89PNG\r\n\x1a\n"),
    "jpg": ("image/jpeg", b"\xff\xd8\xff"),
    "jpeg": ("image/jpeg", b"\xff\xd8\xff"),
    "pdf": ("application/pdf", b"%PDF-"),
    "txt": ("text/plain", None),
}


async def get(session: AsyncSession, complaint_id: int) -> Complaint:
    c = await session.get(Complaint, complaint_id)
    if not c:
        raise not_found("Complaint", complaint_id)
    return c


async def _event(
    session: AsyncSession,
    c: Complaint,
    kind: str,
    *,
    actor: Actor,
    detail: str | None = None,
    key: str | None = None,
    at: datetime | None = None,
) -> ComplaintEvent:
    ev = ComplaintEvent(
        complaint_id=c.id,
        kind=kind,
        detail=detail,
        key=key,
        level=c.level,
        actor_name=actor.name,
        at=at or utcnow(),
    )
    session.add(ev)
    await session.flush()
    return ev


async def _write(session: AsyncSession, c: Complaint, action: str, actor: Actor, before: dict | None) -> None:
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=f"complaint.{action}",
        entity_type="complaint",
        entity_id=c.id,
        branch_id=c.branch_id,
        before=before,
        after=audit.snapshot(c),
    )


async def log_complaint(
    session: AsyncSession,
    *,
    actor: Actor,
    customer_id: int,
    channel: str,
    category: str,
    severity: str,
    description: str,
    sla: dict[str, tuple[int, int]],
    order_id: int | None = None,
    sku: str | None = None,
    branch_id: int | None = None,
) -> Complaint:
    """Log a complaint with its severity's SLA clocks started. Not idempotent (a new record)."""
    customer = await customers.writable(session, customer_id)
    if severity not in sla:
        raise InvalidInput(f"No SLA is configured for severity {severity!r}.", field="severity")
    if order_id is not None:
        order = await session.get(Order, order_id)
        if order is None or order.customer_id != customer_id:
            raise Refused(f"Order #{order_id} is not one of this customer's orders.", field="order_id")
    first, resolution = sla[severity]
    now = utcnow()
    branch_id = branch_id or customer.home_branch_id
    cal = await branches.work_calendar(session, branch_id)
    c = Complaint(
        customer_id=customer_id,
        channel=channel,
        category=category,
        severity=severity,
        description=description,
        order_id=order_id,
        sku=sku,
        status=ComplaintStatus.open,
        level=Level.agent,
        first_response_minutes=first,
        resolution_minutes=resolution,
        # Working time of the branch: a complaint logged at closing time is due the next day.
        first_response_due_at=cal.add(now, timedelta(minutes=first)),
        resolution_due_at=cal.add(now, timedelta(minutes=resolution)),
        branch_id=branch_id,
        created_by_id=actor.user_id,
        assignee_id=actor.user_id,
        shift_id=actor.shift_id,
    )
    session.add(c)
    await session.flush()
    c.workflow_id = complaint_workflow_id(c.id)
    await _event(session, c, "logged", actor=actor, detail=f"{severity} · {category}", at=now)
    await _write(session, c, "log", actor, None)
    await notify.enqueue(
        session,
        kind="complaint.received",
        to_customer_id=customer_id,
        branch_id=c.branch_id,
        subject=f"We received your complaint #{c.id}",
        body=f"Dear customer,\n\nwe logged your complaint #{c.id} ({category}) and will reply soon.",
        dedupe_key=f"complaint-{c.id}:received",
    )
    return c


async def open_complaint(
    session: AsyncSession,
    *,
    data: ComplaintCreate,
    actor: Actor,
    sla: dict[str, tuple[int, int]],
    reopen_minutes: int,
) -> Complaint:
    """Log a complaint and queue ComplaintWorkflow (complaint-{id}), which runs its SLA
    clocks and escalations. Not idempotent (a new record each time)."""
    c = await log_complaint(session, actor=actor, sla=sla, **data.model_dump())
    await starts.enqueue(
        session,
        run=flow.COMPLAINT_WORKFLOW,
        arg=flow.ComplaintInput(
            complaint_id=c.id,
            branch_id=c.branch_id,
            title=f"complaint #{c.id}",
            first_response_minutes=c.first_response_minutes,
            resolution_minutes=c.resolution_minutes,
            reopen_window_minutes=reopen_minutes,
            calendar=await branches.work_calendar(session, c.branch_id),
        ),
        workflow_id=c.workflow_id,
        branch_id=c.branch_id,
        customer_id=c.customer_id,
        order_id=c.order_id,
    )
    return c


async def _tell(session: AsyncSession, c: Complaint, signal: str, arg: flow.Resolution | None = None) -> None:
    """Queue a signal to the complaint's workflow; it leaves after the commit."""
    await starts.enqueue_signal(session, workflow_id=c.workflow_id, signal=signal, arg=arg)


async def respond(session: AsyncSession, *, actor: Actor, complaint_id: int, message: str) -> Complaint:
    """Record a reply to the customer; the first one stops the first-response clock (the
    workflow is told)."""
    c = await get(session, complaint_id)
    if c.status not in OPEN:
        raise ComplaintStateError(f"Complaint #{c.id} is {c.status}.")
    before = audit.snapshot(c)
    if c.responded_at is None:
        c.responded_at = utcnow()
        await _tell(session, c, flow.RESPONDED)
    await _event(session, c, "responded", actor=actor, detail=message)
    await _write(session, c, "respond", actor, before)
    await notify.enqueue(
        session,
        kind="complaint.reply",
        to_customer_id=c.customer_id,
        branch_id=c.branch_id,
        subject=f"About your complaint #{c.id}",
        body=message,
    )
    return c


async def await_customer(
    session: AsyncSession, *, actor: Actor, complaint_id: int, note: str | None = None
) -> Complaint:
    """Pause the SLA clocks while waiting on the customer (the workflow is told)."""
    c = await get(session, complaint_id)
    if c.status != ComplaintStatus.open:
        raise ComplaintStateError(f"Complaint #{c.id} is {c.status}, not open.")
    before = audit.snapshot(c)
    c.status, c.paused_at = ComplaintStatus.awaiting_customer, utcnow()
    await _event(session, c, "awaiting_customer", actor=actor, detail=note)
    await _write(session, c, "await_customer", actor, before)
    await _tell(session, c, flow.AWAITING_CUSTOMER)
    return c


async def customer_replied(
    session: AsyncSession, *, actor: Actor, complaint_id: int, note: str | None = None
) -> Complaint:
    """Resume the clocks; deadlines move by the time spent waiting (the workflow is told)."""
    c = await get(session, complaint_id)
    if c.status != ComplaintStatus.awaiting_customer:
        raise ComplaintStateError(f"Complaint #{c.id} is not waiting on the customer.")
    before = audit.snapshot(c)
    now, cal = utcnow(), await branches.work_calendar(session, c.branch_id)
    c.first_response_due_at = resumed_due(c.first_response_due_at, c.paused_at, now, cal)
    c.resolution_due_at = resumed_due(c.resolution_due_at, c.paused_at, now, cal)
    c.status, c.paused_at = ComplaintStatus.open, None
    await _event(session, c, "customer_replied", actor=actor, detail=note)
    await _write(session, c, "customer_replied", actor, before)
    await _tell(session, c, flow.CUSTOMER_REPLIED)
    return c


async def resolve(
    session: AsyncSession,
    *,
    actor: Actor,
    complaint_id: int,
    outcome: str,
    compensation: Compensation = Compensation.none,
    amount_minor: int | None = None,
    settings: Settings | None = None,
) -> Complaint:
    """Resolve with an outcome and any compensation: goodwill up to the branch's threshold posts
    a credit to the customer's credit account now, above it finance decides first; a refund goes
    to the approval gate and, approved, back to the card of the complaint's order (or to the
    credit account when it was not paid online); a coupon is noted. The workflow, told with the
    resolution, asks the approvals. Without `settings` every goodwill credit asks finance."""
    c = await get(session, complaint_id)
    if c.status not in OPEN:
        raise ComplaintStateError(f"Complaint #{c.id} is {c.status}.")
    if compensation in (Compensation.goodwill, Compensation.refund) and not amount_minor:
        raise InvalidInput("Give the amount of the compensation.", field="amount_minor")
    before = audit.snapshot(c)
    customer = await session.get(Customer, c.customer_id)
    now = utcnow()
    c.status, c.resolved_at, c.paused_at, c.outcome = ComplaintStatus.resolved, now, None, outcome
    c.compensation, c.compensation_minor = compensation, amount_minor
    order = await session.get(Order, c.order_id) if c.order_id else None
    c.currency = (order.currency if order else customer.currency) if amount_minor else None
    c.compensation_status, c.settled_minor, c.settled_ref = None, None, None
    if c.responded_at is None:
        c.responded_at = now
    detail = outcome
    over = settings and await thresholds.in_branch(
        session, settings, "goodwill_approval_over_minor", c.branch_id
    )
    hours = settings.four_eyes_hours if settings else 48
    gated_goodwill = None
    if compensation == Compensation.goodwill and amount_minor > (over or 0):
        gated_goodwill = amount_minor
        c.compensation_status = CompensationStatus.pending_approval
        detail += f" · goodwill credit {format_money(amount_minor, c.currency)} sent to finance for approval"
    elif compensation == Compensation.goodwill:
        entry = await _credit(session, c, actor=actor, kind=EntryKind.goodwill, key=_goodwill_key(c))
        c.compensation_status = CompensationStatus.posted
        c.settled_minor, c.settled_ref = amount_minor, entry.reference
        detail += f" · goodwill credit {format_money(amount_minor, c.currency)}"
    elif compensation == Compensation.refund:
        if order is not None:
            _refund_fits(order, amount_minor)
        c.compensation_status = CompensationStatus.pending_approval
        detail += f" · refund {format_money(amount_minor, c.currency)} requested for approval"
    elif compensation == Compensation.coupon:
        detail += " · coupon to be issued"
    await _event(session, c, "resolved", actor=actor, detail=detail, at=now)
    await _write(session, c, "resolve", actor, before)
    await _tell(
        session,
        c,
        flow.RESOLVED,
        flow.Resolution(
            refund_minor=amount_minor if compensation == Compensation.refund else None,
            currency=c.currency,
            requested_by_id=actor.user_id,
            requested_by_name=actor.name,
            goodwill_minor=gated_goodwill,
            goodwill_levels=[
                ApprovalLevel(role="finance", hours=hours),
                ApprovalLevel(role="manager", hours=hours),
            ]
            if gated_goodwill
            else [],
        ),
    )
    return c


def _goodwill_key(c: Complaint) -> str:
    return f"complaint-{c.id}-goodwill-{c.reopened_count}"


async def _credit(
    session: AsyncSession,
    c: Complaint,
    *,
    actor: Actor,
    kind: EntryKind,
    key: str,
    amount_minor: int | None = None,
):
    """Post the complaint's compensation to the customer's credit account (opened if need be).
    Idempotent by `key`."""
    account = await ledger.open_account(session, actor=actor, customer_id=c.customer_id)
    what = "Goodwill" if kind == EntryKind.goodwill else "Refund"
    return await ledger.post_entry(
        session,
        actor=actor,
        account_id=account.id,
        kind=kind,
        amount_minor=amount_minor or c.compensation_minor,
        currency=account.currency,
        reference=key,
        description=f"{what} for complaint #{c.id}",
    )


def _paid_online(order: Order | None) -> bool:
    return order is not None and bool(order.payment_intent_id) and order.captured_minor > 0


def _refund_fits(order: Order, amount_minor: int) -> None:
    """A refund to the card is never more than what the order's card payment has left."""
    if not _paid_online(order):
        return  # not paid online: the refund is credited to the account instead
    left = order.captured_minor - order.refunded_minor
    if amount_minor > left:
        raise InvalidInput(
            f"At most {format_money(left, order.currency)} of order #{order.id} can still be refunded.",
            field="amount_minor",
        )


async def reopen(
    session: AsyncSession, *, actor: Actor, complaint_id: int, reason: str, window_minutes: int
) -> Complaint:
    """Reopen a resolved complaint inside the reopen window; the resolution clock restarts (the
    same workflow resumes)."""
    c = await get(session, complaint_id)
    if c.status != ComplaintStatus.resolved:
        raise ComplaintStateError(f"Complaint #{c.id} is {c.status}; only resolved complaints reopen.")
    now = utcnow()
    if c.resolved_at + timedelta(minutes=window_minutes) < now:
        raise ComplaintStateError("The reopen window has passed; log a new complaint.")
    before = audit.snapshot(c)
    c.status, c.resolved_at, c.reopened_count = ComplaintStatus.open, None, c.reopened_count + 1
    cal = await branches.work_calendar(session, c.branch_id)
    c.resolution_due_at = cal.add(now, timedelta(minutes=c.resolution_minutes))
    await _event(session, c, "reopened", actor=actor, detail=reason, at=now)
    await _write(session, c, "reopen", actor, before)
    await _tell(session, c, flow.REOPEN)
    return c


async def record_breach(
    session: AsyncSession,
    *,
    actor: Actor,
    complaint_id: int,
    clock: str,
    to_level: Level,
    key: str,
    at: datetime,
) -> bool:
    """Record an SLA breach, escalate to `to_level` and notify that level. Idempotent by `key`."""
    if await session.scalar(select(ComplaintEvent.id).where(ComplaintEvent.key == key)):
        return False
    c = await get(session, complaint_id)
    if c.status not in OPEN:
        return False
    before = audit.snapshot(c)
    from_level = c.level
    if clock == "first_response":
        c.first_response_breached = True
    else:
        c.resolution_breached = True
    c.level = to_level
    await _event(
        session,
        c,
        "breach",
        actor=actor,
        key=key,
        at=at,
        detail=f"{clock.replace('_', ' ')} SLA breached; escalated {from_level} → {to_level}",
    )
    await _write(session, c, "breach", actor, before)
    await notify.notify_role(
        session,
        role=to_level,
        branch_id=c.branch_id,
        kind="complaint.escalated",
        subject=f"Complaint #{c.id} escalated to you ({clock.replace('_', ' ')} SLA breached)",
        body=f"Complaint #{c.id} ({c.severity}, {c.category}) breached its "
        f"{clock.replace('_', ' ')} SLA and is now with the {to_level}.",
        link=f"/complaints/{c.id}",
        dedupe_prefix=key,
    )
    return True


async def record_refund(
    session: AsyncSession, *, actor: Actor, complaint_id: int, status: str, key: str
) -> None:
    """Record the approval gate's refund decision. Idempotent by `key`."""
    if await session.scalar(select(ComplaintEvent.id).where(ComplaintEvent.key == key)):
        return
    c = await get(session, complaint_id)
    await _event(
        session,
        c,
        f"refund_{status}",
        actor=actor,
        key=key,
        detail=f"Refund of {c.compensation_minor} {c.currency or ''} {status}",
    )
    await audit.record(
        session,
        actor=actor,
        action=f"complaint.refund_{status}",
        entity_type="complaint",
        entity_id=c.id,
        branch_id=c.branch_id,
        after={"refund_minor": c.compensation_minor, "status": status},
    )


async def _already(session: AsyncSession, key: str) -> bool:
    return bool(await session.scalar(select(ComplaintEvent.id).where(ComplaintEvent.key == key)))


async def _settle(
    session: AsyncSession,
    c: Complaint,
    *,
    actor: Actor,
    what: str,
    decision: flow.RefundDecision,
    status: CompensationStatus,
    detail: str,
    settled: tuple[int, str] | None = None,
) -> None:
    """Record the gate's outcome on the complaint (event keyed by the decision, audit)."""
    before = audit.snapshot(c)
    c.compensation_status = status
    if settled:
        c.settled_minor, c.settled_ref = settled
    by = f" (decided by {decision.decided_by_name})" if decision.decided_by_name else ""
    await _event(session, c, f"{what}_{decision.status}", actor=actor, key=decision.key, detail=detail + by)
    await _write(session, c, f"{what}_{decision.status}", actor, before)


def _closed_status(decision: flow.RefundDecision) -> CompensationStatus:
    return CompensationStatus.rejected if decision.status == "rejected" else CompensationStatus.expired


async def settle_goodwill(session: AsyncSession, *, actor: Actor, decision: flow.RefundDecision) -> None:
    """Finance's decision on goodwill above the threshold: approved, it is credited to the
    customer's credit account. Idempotent by the decision's key (the ledger reference too)."""
    await _settle_on_account(session, actor=actor, decision=decision, kind=EntryKind.goodwill)


async def settle_refund(session: AsyncSession, *, actor: Actor, decision: flow.RefundDecision) -> None:
    """A refund decision that moves no card money: rejected or expired is recorded; approved
    without an online payment is credited to the customer's credit account. Idempotent by key."""
    await _settle_on_account(session, actor=actor, decision=decision, kind=EntryKind.refund)


_WHAT = {
    EntryKind.goodwill: ("goodwill", "Goodwill credit", ""),
    EntryKind.refund: ("refund", "Refund", " (no online payment)"),
}


async def _settle_on_account(
    session: AsyncSession, *, actor: Actor, decision: flow.RefundDecision, kind: EntryKind
) -> None:
    if await _already(session, decision.key):
        return
    what, label, note = _WHAT[kind]
    c = await get(session, decision.complaint_id)
    money = format_money(c.compensation_minor, c.currency)
    if decision.status != "approved":
        status, detail, settled = _closed_status(decision), f"{label} of {money} {decision.status}", None
    else:
        entry = await _credit(session, c, actor=actor, kind=kind, key=decision.key)
        status, detail = (
            CompensationStatus.credited,
            f"{label} of {money} approved and credited to the account{note}",
        )
        settled = (c.compensation_minor, entry.reference)
    await _settle(
        session, c, actor=actor, what=what, decision=decision, status=status, detail=detail, settled=settled
    )


async def refund_target(session: AsyncSession, *, complaint_id: int, key: str) -> flow.RefundTarget:
    """Where an approved refund goes: the card of the complaint's order (never more than is left
    of its capture), or the credit account when the order was not paid online. Read-only."""
    c = await get(session, complaint_id)
    done = await _already(session, key)
    order = await session.get(Order, c.order_id) if c.order_id else None
    if not _paid_online(order):
        return flow.RefundTarget(done=done, amount_minor=c.compensation_minor or 0)
    left = order.captured_minor - order.refunded_minor
    return flow.RefundTarget(
        done=done, intent_id=order.payment_intent_id, amount_minor=min(c.compensation_minor or 0, left)
    )


async def record_card_refund(
    session: AsyncSession,
    *,
    actor: Actor,
    decision: flow.RefundDecision,
    result: RefundResult,
    prefix: str = "",
) -> None:
    """The approved refund made at the gateway: in the order's payment ledger and timeline and on
    the complaint; the order's workflow, if still running, is told. Idempotent per the
    decision's key."""
    if await _already(session, decision.key):
        return
    c = await get(session, decision.complaint_id)
    money = format_money(result.amount_minor, result.currency)
    await charges.record_refund(
        session,
        actor=actor,
        order_id=c.order_id,
        result=result,
        key=decision.key,
        reason=f"Complaint #{c.id}",
    )
    await orders.add_event(
        session,
        order_id=c.order_id,
        kind="complaint_refund",
        message=f"Refunded {money} for complaint #{c.id}.",
        actor_name=actor.name,
        key=f"{decision.key}:order-event",
    )
    await starts.enqueue_signal(
        session,
        workflow_id=orders.workflow_id(c.order_id, prefix),
        signal=REFUNDED_ELSEWHERE,
        arg=RefundedElsewhere(refunded_minor=result.refunded_total_minor),
    )
    await _settle(
        session,
        c,
        actor=actor,
        what="refund",
        decision=decision,
        status=CompensationStatus.refunded,
        detail=f"Refund of {money} approved and paid back to the card of order #{c.order_id}",
        settled=(result.amount_minor, result.refund_id),
    )


async def satisfaction_followup(session: AsyncSession, *, complaint_id: int, round_no: int) -> None:
    """Ask the customer how the resolution went. Idempotent per resolution round."""
    c = await get(session, complaint_id)
    await notify.enqueue(
        session,
        kind="complaint.satisfaction",
        to_customer_id=c.customer_id,
        branch_id=c.branch_id,
        subject=f"How did we do with complaint #{c.id}?",
        body="Your complaint was resolved. Reply to this message to tell us how satisfied you "
        "are, or if the problem persists so we can reopen it.",
        dedupe_key=f"complaint-{c.id}:satisfaction:{round_no}",
    )


async def close(session: AsyncSession, *, actor: Actor, complaint_id: int) -> None:
    """Close a resolved complaint once the reopen window passed. Idempotent."""
    c = await get(session, complaint_id)
    if c.status != ComplaintStatus.resolved:
        return
    before = audit.snapshot(c)
    c.status = ComplaintStatus.closed
    await _event(session, c, "closed", actor=actor)
    await _write(session, c, "close", actor, before)


async def events(session: AsyncSession, complaint_id: int) -> list[ComplaintEvent]:
    rows = await session.execute(
        select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == complaint_id)
        .order_by(ComplaintEvent.at.desc(), ComplaintEvent.id.desc())
    )
    return list(rows.scalars())


async def queue(
    session: AsyncSession,
    *,
    branch_ids: set[int] | None,
    now: datetime | None = None,
    filt: QueueFilter | None = None,
    user_id: int | None = None,
    limit: int = 200,
) -> list[tuple[Complaint, SlaInfo]]:
    """Complaints (open ones unless `filt` says otherwise) sorted by SLA risk (breached, then
    most of the clock used); `filt.mine` keeps those assigned to `user_id`. Read-only."""
    now = now or utcnow()
    filt = filt or QueueFilter()
    stmt = select(Complaint)
    if (statuses := filt.statuses()) is not None:
        stmt = stmt.where(Complaint.status.in_(statuses))
    if filt.mine:
        stmt = stmt.where(Complaint.assignee_id == user_id)
    if filt.level:
        stmt = stmt.where(Complaint.level == filt.level)
    if filt.customer:
        stmt = stmt.where(Complaint.customer_id == filt.customer)
    if branch_ids is not None:
        stmt = stmt.where(Complaint.branch_id.in_(branch_ids or {-1}))
    rows = list(
        (
            await session.execute(stmt.order_by(Complaint.resolution_due_at, Complaint.id).limit(limit))
        ).scalars()
    )
    return await branches.by_sla_risk(session, rows, sla_status, now)


async def orders_to_choose(session: AsyncSession, customer_id: int, limit: int = 50) -> list[Order]:
    """The customer's latest orders, for the complaint form's order choice. Read-only."""
    rows = await session.execute(
        select(Order).where(Order.customer_id == customer_id).order_by(Order.id.desc()).limit(limit)
    )
    return list(rows.scalars())


async def list_for_customer(session: AsyncSession, customer_id: int) -> list[Complaint]:
    rows = await session.execute(
        select(Complaint).where(Complaint.customer_id == customer_id).order_by(Complaint.id.desc())
    )
    return list(rows.scalars())


async def search(
    session: AsyncSession,
    *,
    branch_ids: set[int] | None,
    status: ComplaintStatus | None = None,
    severity: Severity | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page:
    stmt = select(Complaint)
    if branch_ids is not None:
        stmt = stmt.where(Complaint.branch_id.in_(branch_ids or {-1}))
    if status:
        stmt = stmt.where(Complaint.status == status)
    if severity:
        stmt = stmt.where(Complaint.severity == severity)
    return await paginate(
        session, stmt, sort_col=Complaint.id, id_col=Complaint.id, limit=limit, cursor=cursor, descending=True
    )


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


async def attach(
    session: AsyncSession,
    *,
    actor: Actor,
    complaint_id: int,
    filename: str,
    data: bytes,
    var_dir: Path,
    max_bytes: int,
) -> ComplaintAttachment:
    """Store a file for the complaint under var/attachments/ after checking size and type."""
    c = await get(session, complaint_id)
    if len(data) > max_bytes:
        raise AttachmentTooLarge(f"The file is larger than {max_bytes // (1024 * 1024)} MB.", field="file")
    if not data:
        raise AttachmentRejected("The file is empty.", field="file")
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in ALLOWED:
        raise AttachmentRejected("Only PNG, JPEG, PDF and text files are accepted.", field="file")
    content_type, magic = ALLOWED[ext]
    if magic is not None and not data.startswith(magic):
        raise AttachmentRejected(f"The file's content is not {ext.upper()}.", field="file")
    if magic is None:
        try:
            if b"\x00" in data:
                raise UnicodeDecodeError("utf-8", data, 0, 1, "NUL byte")
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AttachmentRejected("A .txt file must be UTF-8 text.", field="file") from exc
    digest = hashlib.sha256(data).hexdigest()
    safe = _SAFE.sub("_", Path(filename).name)[-100:] or f"file.{ext}"
    rel = Path("attachments") / str(c.id) / f"{digest[:16]}-{safe}"
    target = Path(var_dir) / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    att = ComplaintAttachment(
        complaint_id=c.id,
        filename=safe,
        content_type=content_type,
        size=len(data),
        sha256=digest,
        path=str(rel),
        uploaded_by_id=actor.user_id,
    )
    session.add(att)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="complaint.attach",
        entity_type="complaint",
        entity_id=c.id,
        branch_id=c.branch_id,
        after={"attachment_id": att.id, "filename": safe, "size": len(data), "sha256": digest},
    )
    return att


async def attachments(session: AsyncSession, complaint_id: int) -> list[ComplaintAttachment]:
    rows = await session.execute(
        select(ComplaintAttachment)
        .where(ComplaintAttachment.complaint_id == complaint_id)
        .order_by(ComplaintAttachment.id)
    )
    return list(rows.scalars())


async def escalated_to(
    session: AsyncSession, *, grants: tuple[tuple[str, int | None], ...], now: datetime | None = None
) -> list[tuple[Complaint, SlaInfo]]:
    """Open complaints escalated to a level the user holds (supervisor/manager) in the
    complaint's branch, riskiest first: the "Escalated to me" inbox section. Read-only."""
    from sqlalchemy import and_, or_

    conds = []
    for role, branch_id in grants:
        if role in LEVELS[1:]:
            conds.append(
                and_(Complaint.level == role, Complaint.branch_id == branch_id)
                if branch_id is not None
                else Complaint.level == role
            )
    if not conds:
        return []
    rows = (
        await session.execute(
            select(Complaint)
            .where(Complaint.status.in_(OPEN), or_(*conds))
            .order_by(Complaint.id.desc())
            .limit(100)
        )
    ).scalars()
    return await branches.by_sla_risk(session, list(rows), sla_status, now or utcnow())
