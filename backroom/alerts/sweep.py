"""The alert sweep: finds the causes of alerts in the data, raises one alert per cause (by
key, idempotently) and auto-resolves the alerts whose cause has cleared.

Why a sweep rather than hooks in each workflow: the complaint, credit and order workflows
belong to their domains; reading their records every few minutes needs no change to them,
catches causes that arose while the worker was down, and is the one place that knows when a
cause has cleared. Each rule is one indexed query over the records that are in trouble now."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.alerts import service
from backroom.alerts.models import ExceptionAlert
from backroom.alerts.schemas import SweepResult
from backroom.audit.context import Actor
from backroom.complaints.models import Complaint
from backroom.credit.models import CreditAccount, CreditHold
from backroom.customers.models import Customer
from backroom.orders.flow import PARCEL_STEPS_OPEN
from backroom.orders.models import Alert as OrderAlert
from backroom.orders.models import Order, Parcel, WebhookEvent
from backroom.shipping.carrier import LOCAL_PROVIDER as LOCAL_CARRIER

STUCK_AFTER = timedelta(minutes=30)  # 3-D Secure unanswered this long is "stuck"
RECENT = timedelta(days=7)  # terminal failures older than this are history, not alerts
OPEN_COMPLAINT = ("open", "awaiting_customer")


@dataclass(frozen=True)
class Cause:
    key: str
    severity: str
    branch_id: int
    title: str
    link: str | None
    detail: str | None = None


@dataclass(frozen=True)
class Rule:
    kind: str
    find: Callable[[AsyncSession, datetime], Awaitable[list[Cause]]]
    auto_resolve: bool = True


PARCEL_SCAN_LATE_DAYS = 3  # settings.parcel_scan_late_days; the sweep's own default


async def _complaint_breaches(session: AsyncSession, now: datetime) -> list[Cause]:
    rows = (
        await session.execute(
            select(
                Complaint.id,
                Complaint.branch_id,
                Complaint.severity,
                Complaint.category,
                Complaint.resolution_breached,
                Complaint.first_response_breached,
            ).where(
                Complaint.status.in_(OPEN_COMPLAINT),
                Complaint.first_response_breached.is_(True) | Complaint.resolution_breached.is_(True),
            )
        )
    ).all()
    out = []
    for cid, bid, sev, cat, resolution, _first in rows:
        which = "resolution" if resolution else "first-response"
        out.append(
            Cause(
                f"complaint-{cid}:{which}-breach",
                "critical" if sev in ("high", "critical") else "warning",
                bid,
                f"Complaint #{cid} ({cat}, {sev}) is past its {which.replace('-', ' ')} SLA",
                f"/complaints/{cid}",
            )
        )
    return out


async def _credit_holds(session: AsyncSession, now: datetime) -> list[Cause]:
    rows = (
        await session.execute(
            select(
                CreditHold.id,
                CreditHold.branch_id,
                CreditHold.customer_id,
                CreditHold.reference,
                Customer.name,
            )
            .join(Customer, Customer.id == CreditHold.customer_id)
            .where(CreditHold.status == "pending")
        )
    ).all()
    return [
        Cause(
            f"credit-hold-{i}:raised",
            "warning",
            b,
            f"Credit sale {ref} for {name} is held over the limit",
            f"/credit/customers/{c}",
        )
        for i, b, c, ref, name in rows
    ]


async def _overdue(session: AsyncSession, now: datetime) -> list[Cause]:
    rows = (
        await session.execute(
            select(
                CreditAccount.id,
                CreditAccount.branch_id,
                CreditAccount.customer_id,
                CreditAccount.hold_reason,
                Customer.name,
            )
            .join(Customer, Customer.id == CreditAccount.customer_id)
            .where(CreditAccount.on_hold.is_(True), CreditAccount.hold_reason.like("Overdue%"))
        )
    ).all()
    return [
        Cause(
            f"credit-account-{i}:overdue",
            "warning",
            b,
            f"{name}'s account is overdue",
            f"/credit/customers/{c}",
            reason,
        )
        for i, b, c, reason, name in rows
    ]


async def _payment_failed(session: AsyncSession, now: datetime) -> list[Cause]:
    rows = (
        await session.execute(
            select(Order.id, Order.branch_id, Order.ship_name).where(
                Order.status == "payment_failed", Order.placed_at >= now - RECENT
            )
        )
    ).all()
    return [
        Cause(
            f"order-{i}:payment-failed", "warning", b, f"Payment failed for order #{i} ({n})", f"/orders/{i}"
        )
        for i, b, n in rows
    ]


async def _payment_stuck(session: AsyncSession, now: datetime) -> list[Cause]:
    rows = (
        await session.execute(
            select(Order.id, Order.branch_id, Order.ship_name).where(
                Order.status == "awaiting_authentication", Order.placed_at < now - STUCK_AFTER
            )
        )
    ).all()
    return [
        Cause(
            f"order-{i}:payment-stuck",
            "warning",
            b,
            f"Order #{i} ({n}) is stuck in 3-D Secure",
            f"/orders/{i}",
        )
        for i, b, n in rows
    ]


def _order_alerts(kind: str, severity: str, what: str, still: tuple[str, ...] | None) -> Callable:
    """Mirror the fulfilment workflow's own open alerts of `kind` (the orders domain raises
    them); `still` limits them to orders in those statuses (the cause clears when it moves)."""

    async def find(session: AsyncSession, now: datetime) -> list[Cause]:
        stmt = (
            select(OrderAlert.id, OrderAlert.branch_id, OrderAlert.subject_id, OrderAlert.message)
            .join(Order, Order.id == cast(OrderAlert.subject_id, BigInteger))
            .where(OrderAlert.kind == kind, OrderAlert.status == "open", OrderAlert.subject_type == "order")
        )
        if still:
            stmt = stmt.where(Order.status.in_(still))
        rows = (await session.execute(stmt)).all()
        return [
            Cause(f"order-{oid}:{what}", severity, b, f"Order #{oid}: {msg}"[:200], f"/orders/{oid}", msg)
            for _, b, oid, msg in rows
        ]

    return find


async def _tracking(session: AsyncSession, now: datetime) -> list[Cause]:
    status = WebhookEvent.payload["status"].as_string()
    tracking = WebhookEvent.payload["tracking_number"].as_string()
    rows = (
        await session.execute(
            select(Parcel.id, Parcel.branch_id, Parcel.order_id, Parcel.tracking_number, status)
            .join(WebhookEvent, tracking == Parcel.tracking_number)
            .where(
                WebhookEvent.provider == "shippo",
                status.in_(("FAILURE", "RETURNED")),
                Parcel.status.notin_(("delivered", "voided")),
            )
            .distinct()
        )
    ).all()
    return [
        Cause(
            f"parcel-{pid}:tracking-exception",
            "warning",
            b,
            f"Parcel {tn} of order #{oid}: carrier reports {st.lower()}",
            f"/orders/{oid}",
        )
        for pid, b, oid, tn, st in rows
    ]


def _not_scanned(days: float) -> Callable:
    """Parcels whose label was bought `days` ago and that no carrier has scanned since (only
    carriers with a tracking feed: the local carrier's parcels are marked delivered by staff)."""

    async def find(session: AsyncSession, now: datetime) -> list[Cause]:
        rows = (
            await session.execute(
                select(
                    Parcel.id, Parcel.branch_id, Parcel.order_id, Parcel.tracking_number, Parcel.labelled_at
                )
                .where(
                    Parcel.status.in_(("labelled", "shipped")),
                    Parcel.labelled_at < now - timedelta(days=days),
                    Parcel.scanned_at.is_(None),
                    Parcel.tracking_number.is_not(None),
                    Parcel.carrier != LOCAL_CARRIER,
                )
                .order_by(Parcel.id)
            )
        ).all()
        return [
            Cause(
                f"parcel-{pid}:not-scanned",
                "warning",
                b,
                f"Parcel {tn} of order #{oid}: no carrier scan {days:g} days after its label",
                f"/orders/{oid}",
                f"Label bought {at:%Y-%m-%d %H:%M} UTC; ask the carrier or re-ship.",
            )
            for pid, b, oid, tn, at in rows
        ]

    return find


RULES = (
    Rule("complaint_sla_breach", _complaint_breaches),
    Rule("credit_hold", _credit_holds),
    Rule("account_overdue", _overdue),
    Rule("payment_failed", _payment_failed, auto_resolve=False),  # terminal: a person closes it
    Rule("payment_stuck", _payment_stuck),
    Rule("label_refused", _order_alerts("order_failed", "critical", "fulfilment-failed", None)),
    Rule(
        "pick_timeout",
        _order_alerts("pick_timeout", "warning", "pick-timeout", ("payment_authorized", "review", "picking")),
    ),
    # Raised by the order's workflow when a vendor's parcel misses VENDOR_SHIP_DAYS; clears once
    # every parcel has shipped (the vendor's, or staff's on its behalf) or the order ended.
    Rule("vendor_late", _order_alerts("vendor_late", "warning", "vendor-late", PARCEL_STEPS_OPEN)),
    Rule("tracking_exception", _tracking),
    # Stripe events (backroom/orders/stripe_events.py): a person closes these.
    Rule("payment_dispute", _order_alerts("dispute", "critical", "dispute", None), auto_resolve=False),
    Rule(
        "refund_failed", _order_alerts("refund_failed", "critical", "refund-failed", None), auto_resolve=False
    ),
    Rule(
        "payment_cancelled",
        _order_alerts("payment_cancelled", "critical", "payment-cancelled", None),
        auto_resolve=False,
    ),
)


async def sweep(
    session: AsyncSession,
    *,
    actor: Actor,
    now: datetime,
    parcel_scan_late_days: float = PARCEL_SCAN_LATE_DAYS,
) -> SweepResult:
    """Raise what is wrong now, auto-resolve what has cleared. Idempotent: a second sweep over
    the same data raises and resolves nothing."""
    result = SweepResult()
    for rule in (*RULES, Rule("parcel_not_scanned", _not_scanned(parcel_scan_late_days))):
        causes = await rule.find(session, now)
        for c in causes:
            _, created = await service.raise_alert(
                session,
                key=c.key,
                kind=rule.kind,
                severity=c.severity,
                branch_id=c.branch_id,
                title=c.title,
                link=c.link,
                detail=c.detail,
                actor=actor,
                at=now,
            )
            result.raised += created
            result.seen += 1
            if created:
                result.by_kind[rule.kind] = result.by_kind.get(rule.kind, 0) + 1
        if rule.auto_resolve:
            keys = {c.key for c in causes}
            active = (
                await session.execute(
                    select(ExceptionAlert.key).where(
                        ExceptionAlert.kind == rule.kind, ExceptionAlert.status.in_(service.ACTIVE)
                    )
                )
            ).scalars()
            for key in [k for k in active if k not in keys]:
                if await service.resolve_alert(session, key=key, actor=actor):
                    result.auto_resolved += 1
    return result
