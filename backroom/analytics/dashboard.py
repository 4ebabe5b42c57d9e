"""A module dashboard: KPI cards (today / this week / this month against the same span before
and the target, with a 30-day trend line), the pending action queue, exception alerts and the
recent transaction timeline, all under the same drilldown filters. Read-only.

KPI cards read the catalog through analytics.series: one grouped query per source over the
span from the start of the previous month (or 30 days back) to today, bucketed by local day;
every card, comparison and trend line is cut from that one frame."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import BigInteger, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.alerts import service as alerts
from backroom.alerts.schemas import AlertCounts, AlertRead
from backroom.analytics import charts
from backroom.analytics.access import load_branches
from backroom.analytics.models import Target
from backroom.analytics.modules import Module
from backroom.analytics.series import Scope, day_frame, hourly, period_values
from backroom.analytics.targets import display
from backroom.approvals import service as approvals
from backroom.audit import describe
from backroom.audit.models import AuditEvent
from backroom.auth.principal import Principal
from backroom.branches import service as branches_service
from backroom.branches.models import Branch
from backroom.complaints.models import Complaint
from backroom.complaints.sla import sla_status
from backroom.credit.models import CreditHold
from backroom.crm.models import FollowUpTask
from backroom.db.session import fan_out
from backroom.errors import InvalidInput
from backroom.orders.flow import PARCEL_STEPS_OPEN
from backroom.orders.models import Alert as OrderAlert
from backroom.orders.models import Order
from backroom.reports import catalog
from backroom.reports.catalog import Unit
from backroom.reports.periods import period_for
from backroom.reports.service import Filters, _base_measures, _usable

TREND_DAYS = 30
QUEUE_LIMIT = 15
TIMELINE_LIMIT = 25
ENTITY_TYPES = {
    "custops": ("customer", "complaint", "credit_account", "credit_hold", "followup_task", "interaction"),
    "commerce": ("order", "cart", "product", "parcel", "payment", "stock_level"),
}
LINKS = {
    "customer": "/customers/{}",
    "complaint": "/complaints/{}",
    "order": "/orders/{}",
    "product": "/catalog/{}",
    "followup_task": "/tasks",
}


@dataclass
class Compare:
    label: str
    value: float | None
    display: str
    previous: float | None
    previous_display: str
    change_pct: float | None
    target: float | None = None
    target_display: str | None = None
    target_pct: float | None = None  # share of the target reached


@dataclass
class Card:
    function: str
    measure: str
    label: str
    unit: str
    link: str
    available: bool
    spans: list[Compare] = field(default_factory=list)
    spark: str = ""
    note: str = ""


@dataclass
class QueueItem:
    kind: str
    title: str
    detail: str
    link: str
    action: str
    due: datetime | None = None


@dataclass
class TimelineItem:
    at: datetime
    who: str
    action: str
    entity_type: str
    entity_id: str
    link: str | None
    subject: str = ""  # the record for people: "Order #1033", "Credit account of Alice Moreno"


@dataclass
class Dashboard:
    module: Module
    branches: dict[int, Branch]
    cards: list[Card]
    queue: list[QueueItem]
    alerts: list[AlertRead]
    alert_counts: AlertCounts
    timeline: list[TimelineItem]
    timeline_types: tuple[str, ...]
    generated_at: datetime


def _pct(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not b:
        return None
    return (a - b) / abs(b) * 100


async def cards(
    session: AsyncSession,
    *,
    module: Module,
    branches: dict[int, Branch],
    user_id: int | None,
    shift_ids: list[int] | None,
    category: str | None,
    now: datetime,
) -> list[Card]:
    """The module's KPI cards under the filters."""
    if not branches:
        return []
    filters = Filters(user_id, tuple(shift_ids) if shift_ids is not None else None, category)
    tz = next(iter(branches.values())).timezone
    today = now.astimezone(ZoneInfo(tz)).date()
    week = today - timedelta(days=today.weekday())
    month = today.replace(day=1)
    prev_month = (month - timedelta(days=1)).replace(day=1)
    start = min(prev_month, today - timedelta(days=TREND_DAYS - 1), week - timedelta(days=7))
    end = today + timedelta(days=1)
    currencies = sorted({b.currency for b in branches.values()})
    currency, single = currencies[0], len(currencies) == 1
    # Like for like: so far this week/month against the same number of days before.
    days_in_month = (today - month).days + 1
    prev_month_end = min(prev_month + timedelta(days=days_in_month), month)
    spans = (
        ("Today", (today, end), (today - timedelta(days=1), today), "daily"),
        (
            "This week",
            (week, end),
            (week - timedelta(days=7), week - timedelta(days=7) + (end - week)),
            "weekly",
        ),
        ("This month", (month, end), (prev_month, prev_month_end), "monthly"),
    )
    by_function: dict[str, list] = {}
    for k in module.kpis:
        by_function.setdefault(k.function, []).append(k)
    targets = await _targets(session, module, branches, today)
    out: list[Card] = []
    frames: dict[tuple[str, str], pd.DataFrame] = {}
    plans = []
    for fn, kpis in by_function.items():
        fr = catalog.get(fn)
        ms = [fr.measure(k.measure) for k in kpis]
        usable = [m for m in ms if all(_usable(b.source, filters) for b in _bases(fr, m))]
        scope = Scope(fr, usable[0], branches, filters, currency if single else None) if usable else None
        plans.append((fn, kpis, fr, ms, usable, scope))

    def ask(scope: Scope, usable: list) -> Callable[[AsyncSession], Awaitable[pd.DataFrame]]:
        async def run(s: AsyncSession) -> pd.DataFrame:
            return await hourly(s, scope, start, end, measures=usable, by_currency=not single, grain="day")

        return run

    # Each function's sources at once where the session allows (backroom.db.session.fan_out).
    asked = [p for p in plans if p[5] is not None]
    answers = dict(
        zip(
            [p[0] for p in asked],
            await fan_out(session, [ask(p[5], p[4]) for p in asked]),
            strict=True,
        )
    )
    for fn, kpis, fr, ms, usable, scope in plans:
        # Money is never summed across currencies: with branches in several currencies the money
        # cards (and money ratios) show the first currency only; counts cover every branch. One
        # query per source either way: grouped by currency too, split here.
        if usable:
            rows = answers[fn]
            every = day_frame(rows, scope, start, end, usable)
            money = every if single else day_frame(rows, scope, start, end, usable, currency=currency)
            for m in usable:
                frames[(fn, m.name)] = money if m.unit is Unit.MONEY else every
        for k, m in zip(kpis, ms, strict=True):
            card = Card(fn, m.name, m.label, m.unit, k.link, m in usable)
            out.append(card)
            if not card.available:
                card.note = "Not available under these filters."
                continue
            base = frames[(fn, m.name)]
            cur = currency if m.unit is Unit.MONEY else None
            if cur and not single:
                card.note = f"In {cur} (branches in {cur} only); pick a branch for the others."
            periods = [p for _, a, b, _ in spans for p in (a, b)]
            vals = period_values(base, fr, m, periods)
            for n, (label, _, _, edition) in enumerate(spans):
                v, pv = vals[2 * n], vals[2 * n + 1]
                t = targets.get((fn, m.name, edition))
                card.spans.append(
                    Compare(
                        label,
                        v,
                        display(m.unit, v, cur),
                        pv,
                        display(m.unit, pv, cur),
                        _pct(v, pv),
                        t,
                        display(m.unit, t, cur) if t is not None else None,
                        (v / t * 100) if t and v is not None else None,
                    )
                )
            daily = period_values(
                base,
                fr,
                m,
                [
                    (today - timedelta(days=i), today - timedelta(days=i - 1))
                    for i in range(TREND_DAYS - 1, -1, -1)
                ],
            )
            card.spark = charts.sparkline(daily, label=f"{m.label}, last {TREND_DAYS} days")
    return out


def _bases(fr, m):
    return _base_measures(fr, [m])


async def _targets(session, module: Module, branches: dict[int, Branch], today: date) -> dict:
    """Targets in force for today's day/week/month, summed over the branches (only when every
    branch has one, so a partial sum never passes for the whole)."""
    labels = {e: period_for(e, today).label for e in ("daily", "weekly", "monthly")}
    rows = (
        await session.execute(
            select(Target).where(
                Target.function.in_(module.functions),
                Target.branch_id.in_(list(branches)),
                Target.value.is_not(None),
                Target.period_label.in_(list(labels.values())),
            )
        )
    ).scalars()
    sums: dict[tuple, list[float]] = {}
    for t in rows:
        if labels.get(t.edition) == t.period_label:
            sums.setdefault((t.function, t.measure, t.edition), []).append(t.value)
    return {k: sum(v) for k, v in sums.items() if len(v) == len(branches)}


async def queue(
    session: AsyncSession,
    *,
    module: Module,
    p: Principal,
    branch_ids: list[int],
    user_id: int | None,
    shift_ids: list[int] | None,
    category: str | None,
    now: datetime,
) -> list[QueueItem]:
    """What waits on this user or their roles in these branches, most urgent first."""
    items: list[QueueItem] = []
    for r in await approvals.inbox(session, p=p):
        if r.branch_id in branch_ids:
            items.append(
                QueueItem("approval", r.title, f"Waiting on {r.roles}", "/inbox", "Decide", r.deadline_at)
            )

    def narrowed(stmt, model):
        if user_id is not None:
            stmt = stmt.where(model.created_by_id == user_id)
        if shift_ids is not None:
            stmt = stmt.where(model.shift_id.in_(shift_ids))
        return stmt

    if module.key == "custops":
        tasks = select(FollowUpTask).where(
            FollowUpTask.branch_id.in_(branch_ids),
            FollowUpTask.status == "open",
            FollowUpTask.due_at <= now + timedelta(days=1),
        )
        if user_id is not None:
            tasks = tasks.where(FollowUpTask.assignee_id == user_id)
        for t in (await session.execute(tasks.order_by(FollowUpTask.due_at).limit(QUEUE_LIMIT))).scalars():
            late = "overdue" if t.due_at < now else "due soon"
            items.append(
                QueueItem(
                    "follow_up", t.title, late, f"/customers/{t.customer_id}", "Open customer", t.due_at
                )
            )
        comps = narrowed(
            select(Complaint).where(
                Complaint.branch_id.in_(branch_ids), Complaint.status.in_(("open", "awaiting_customer"))
            ),
            Complaint,
        )
        if category is not None:
            comps = comps.where(Complaint.category == category)
        found = list(
            (await session.execute(comps.order_by(Complaint.resolution_due_at).limit(200))).scalars()
        )
        near = [
            (sla, c)
            for c, sla in await branches_service.by_sla_risk(session, found, sla_status, now)
            if sla.status in ("breached", "at_risk")
        ]
        for sla, c in near[:QUEUE_LIMIT]:
            items.append(
                QueueItem(
                    "complaint",
                    f"Complaint #{c.id} ({c.category}, {c.severity})",
                    "past SLA" if sla.status == "breached" else "near SLA",
                    f"/complaints/{c.id}",
                    "Handle",
                    sla.due_at,
                )
            )
        holds = narrowed(
            select(CreditHold).where(CreditHold.branch_id.in_(branch_ids), CreditHold.status == "pending"),
            CreditHold,
        )
        for h in (await session.execute(holds.order_by(CreditHold.id).limit(QUEUE_LIMIT))).scalars():
            items.append(
                QueueItem(
                    "credit_hold",
                    f"Credit sale {h.reference} held",
                    "waiting for a decision or a payment",
                    f"/credit/customers/{h.customer_id}",
                    "Review",
                    h.created_at,
                )
            )
    else:
        orders = narrowed(
            select(Order).where(
                Order.branch_id.in_(branch_ids), Order.status.in_(("payment_authorized", "picking", "packed"))
            ),
            Order,
        )
        for o in (await session.execute(orders.order_by(Order.placed_at).limit(QUEUE_LIMIT))).scalars():
            step = {"payment_authorized": "to pick", "picking": "to pack", "packed": "to label"}[o.status]
            items.append(
                QueueItem(
                    "fulfilment",
                    f"Order #{o.id} {step}",
                    o.ship_name,
                    f"/orders/{o.id}",
                    "Continue",
                    o.placed_at,
                )
            )
        refused = select(OrderAlert).where(
            OrderAlert.branch_id.in_(branch_ids),
            OrderAlert.kind == "order_failed",
            OrderAlert.status == "open",
        )
        for a in (await session.execute(refused.order_by(OrderAlert.id.desc()).limit(QUEUE_LIMIT))).scalars():
            items.append(
                QueueItem(
                    "label_refused",
                    f"Order #{a.subject_id}: label refused",
                    a.message[:120],
                    f"/orders/{a.subject_id}",
                    "Open order",
                    a.created_at,
                )
            )
        # A marketplace vendor missed its shipping deadline and the order still waits for it.
        late = (
            select(OrderAlert)
            .join(Order, Order.id == cast(OrderAlert.subject_id, BigInteger))
            .where(
                OrderAlert.branch_id.in_(branch_ids),
                OrderAlert.kind == "vendor_late",
                OrderAlert.subject_type == "order",
                Order.status.in_(PARCEL_STEPS_OPEN),
            )
        )
        for a in (await session.execute(late.order_by(OrderAlert.id).limit(QUEUE_LIMIT))).scalars():
            items.append(
                QueueItem(
                    "vendor_late",
                    f"Order #{a.subject_id}: vendor has not shipped",
                    a.message[:120],
                    "/warehouse",
                    "Ship on its behalf",
                    a.created_at,
                )
            )
        stuck = narrowed(
            select(Order).where(
                Order.branch_id.in_(branch_ids),
                Order.status == "awaiting_authentication",
                Order.placed_at < now - timedelta(minutes=30),
            ),
            Order,
        )
        for o in (await session.execute(stuck.order_by(Order.placed_at).limit(QUEUE_LIMIT))).scalars():
            items.append(
                QueueItem(
                    "payment_stuck",
                    f"Order #{o.id} stuck in 3-D Secure",
                    o.ship_name,
                    f"/orders/{o.id}",
                    "Open order",
                    o.placed_at,
                )
            )
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(items, key=lambda i: i.due or far)


async def timeline(
    session: AsyncSession,
    *,
    module: Module,
    branch_ids: list[int],
    entity_type: str | None,
    user_id: int | None,
    limit: int = TIMELINE_LIMIT,
) -> list[TimelineItem]:
    """The module's latest writes in these branches, from the audit trail, newest first."""
    types = ENTITY_TYPES[module.key]
    if entity_type and entity_type not in types:
        raise InvalidInput(f"Type is one of: {', '.join(types)}.", field="type")
    stmt = select(AuditEvent).where(
        AuditEvent.branch_id.in_(branch_ids),
        AuditEvent.entity_type.in_([entity_type] if entity_type else types),
    )
    if user_id is not None:
        stmt = stmt.where(AuditEvent.actor_type == "user", AuditEvent.actor_id == str(user_id))
    events = list((await session.execute(stmt.order_by(AuditEvent.id.desc()).limit(limit))).scalars())
    names = await describe.names_for(session, events, subjects=True)
    return [
        TimelineItem(
            e.at,
            describe.actor(e),
            describe.action_words(e.action),
            e.entity_type,
            e.entity_id,
            LINKS[e.entity_type].format(e.entity_id) if e.entity_type in LINKS else None,
            describe.subject(e, names),
        )
        for e in events
    ]


async def build(
    session: AsyncSession,
    *,
    module: Module,
    p: Principal,
    branch_ids: list[int] | None,
    user_id: int | None = None,
    shift_ids: list[int] | None = None,
    category: str | None = None,
    entity_type: str | None = None,
    now: datetime | None = None,
) -> Dashboard:
    """Every widget of the dashboard under the same filters (None branches: all of them)."""
    now = now or datetime.now(UTC)
    branches = await load_branches(session, branch_ids)
    ids = list(branches)
    return Dashboard(
        module=module,
        branches=branches,
        cards=await cards(
            session,
            module=module,
            branches=branches,
            user_id=user_id,
            shift_ids=shift_ids,
            category=category,
            now=now,
        ),
        queue=await queue(
            session,
            module=module,
            p=p,
            branch_ids=ids,
            user_id=user_id,
            shift_ids=shift_ids,
            category=category,
            now=now,
        ),
        alerts=(await alerts.list_alerts(session, branch_ids=ids, module=module.key, limit=10)).items,
        alert_counts=await alerts.counts(session, branch_ids=ids, module=module.key),
        timeline=await timeline(
            session, module=module, branch_ids=ids, entity_type=entity_type, user_id=user_id
        ),
        timeline_types=ENTITY_TYPES[module.key],
        generated_at=now,
    )


@dataclass
class FilterOptions:
    branches: list[tuple[int, str]]
    users: list[tuple[int, str]]
    shifts: list[tuple[int, str]]
    categories: list[str]


async def filter_options(session: AsyncSession, *, branch_ids: list[int] | None) -> FilterOptions:
    """The choices of the drilldown filters, by name (branches, staff, recent shifts, categories)."""
    from backroom.auth.models import RoleGrant, User
    from backroom.branches.models import Shift
    from backroom.catalog.models import Product
    from backroom.reports.service import shift_names

    bstmt = select(Branch.id, Branch.name).order_by(Branch.name)
    if branch_ids is not None:
        bstmt = bstmt.where(Branch.id.in_(branch_ids))
    branches = [(i, n) for i, n in (await session.execute(bstmt)).all()]
    ids = [i for i, _ in branches]
    users = (
        await session.execute(
            select(User.id, User.full_name)
            .join(RoleGrant, RoleGrant.user_id == User.id)
            .where(User.is_active.is_(True), (RoleGrant.branch_id.in_(ids)) | RoleGrant.branch_id.is_(None))
            .distinct()
            .order_by(User.full_name)
            .limit(200)
        )
    ).all()
    shift_ids = list(
        (
            await session.execute(
                select(Shift.id).where(Shift.branch_id.in_(ids)).order_by(Shift.opened_at.desc()).limit(30)
            )
        ).scalars()
    )
    names = await shift_names(session, shift_ids)
    cats = (
        await session.execute(select(Product.category).distinct().order_by(Product.category).limit(100))
    ).scalars()
    return FilterOptions(
        branches,
        [(i, n) for i, n in users],
        [(i, names.get(str(i), f"shift {i}")) for i in shift_ids],
        [c for c in cats if c],
    )
