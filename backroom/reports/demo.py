"""Ninety days of demo history so that every report has something to show: customers, clerk
shifts, orders with lines, payments and parcels, carts, complaints, credit sales and payments,
CRM interactions and follow-ups, spread over the last 90 days of each demo branch.

Why here and not in each domain's demo.py: the records of one day hang together (an order has
its cart, payments and parcel; a complaint names an order's product), and domain demos run in
alphabetical order, so carts would be seeded before the catalog they need. This module runs
after them all (`reports` sorts last among the domains that have demo data).

Everything is finished history (delivered orders, closed complaints, done follow-ups), so no
workflow has to be started for it. Deterministic (a seeded random generator) and idempotent:
a second run finds its marker order and does nothing. One audit event records the seeding."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, inspect, select

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.branches.models import Shift
from backroom.carts.models import Cart, CartLine
from backroom.catalog.models import Product
from backroom.complaints.models import Complaint, ComplaintEvent
from backroom.credit.models import CreditAccount, CreditEntry
from backroom.crm.models import FollowUpTask, Interaction
from backroom.customers.models import Customer
from backroom.orders.models import Order, OrderLine, Parcel, PaymentEntry

ACTOR = Actor.system("seed")
DAYS = 90
MARKER = "demo-history-0"
FIRST = ("Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonah", "Kemi", "Luca")
LAST = ("Garcia", "Okafor", "Schmidt", "Nguyen", "Rossi", "Haddad", "Kowalski", "Silva", "Ito", "Byrne")
CATEGORIES = ("delivery", "product quality", "billing", "service")


def _at(rng: random.Random, day, tz: ZoneInfo) -> datetime:
    """A shop-hours moment on a local day, in UTC."""
    local = datetime(
        day.year, day.month, day.day, rng.randint(9, 19), rng.randint(0, 59), rng.randint(0, 59), tzinfo=tz
    )
    return local.astimezone(UTC)


async def seed(session, context) -> None:
    if await session.scalar(select(Order.id).where(Order.idempotency_key == MARKER)):
        return
    products = list((await session.execute(select(Product).where(Product.status == "active"))).scalars())
    if not products:
        return
    rng = random.Random(20261130)
    users = context["users"]
    clerk, agent = users.get("clerk"), users.get("agent")
    counts = dict.fromkeys(
        ("orders", "carts", "complaints", "credit_entries", "interactions", "customers"), 0
    )
    now = datetime.now(UTC)
    seq = 0
    # Three flushes per branch, not one per record: rows are added in bulk (PostgreSQL batches
    # them), and what needs a parent's id waits in `later` until the parents are written.
    for b_index, branch in enumerate(context["branches"]):
        tz = ZoneInfo(branch.timezone)
        today = now.astimezone(tz).date()
        days = [today - timedelta(days=back) for back in range(DAYS, 0, -1)]
        newcomers: dict = {}
        shifts: dict = {}
        for day in days:
            newcomers[day] = [
                _customer(rng, branch, b_index, day, tz, n, clerk) for n in range(rng.randint(1, 3))
            ]
            session.add_all(newcomers[day])
            counts["customers"] += len(newcomers[day])
            if clerk and b_index == 0 and day.weekday() < 6:
                shifts[day] = _shift(branch, clerk, day, tz)
                session.add(shifts[day])
        await session.flush()
        customers: list[Customer] = []
        accounts: dict[int, CreditAccount] = {}
        ledger: list[tuple] = []  # written in time order: balance_after follows the clock
        later: list = []
        for day in days:
            customers.extend(newcomers[day])
            shift = shifts.get(day)
            busy = 0.6 if day.weekday() == 6 else 1.0
            for _ in range(int(rng.randint(3, 9) * busy)):
                seq += 1
                later.append(
                    _order(session, rng, branch, b_index, seq, day, tz, customers, products, shift, clerk)
                )
                counts["orders"] += 1
            for _ in range(rng.randint(2, 6)):
                later.append(_abandoned_cart(session, rng, branch, day, tz, customers, products))
                counts["carts"] += 1
            if rng.random() < 0.7:
                later.append(_complaint(session, rng, branch, day, tz, customers, products, agent, clerk))
                counts["complaints"] += 1
            for _ in range(rng.randint(0, 2)):
                buyer = rng.choice(customers)
                acct = accounts.get(buyer.id)
                if acct is None:
                    acct = CreditAccount(customer_id=buyer.id, currency=branch.currency, branch_id=branch.id)
                    session.add(acct)
                    accounts[buyer.id] = acct
                at = _at(rng, day, tz)
                amount = rng.randint(20, 400) * 100
                ledger.append((at, acct, "sale", amount, at + timedelta(days=30), shift))
                paid = at + timedelta(days=rng.randint(5, 45))
                if rng.random() < 0.75 and paid < now:
                    ledger.append((paid, acct, "payment", -amount, None, None))
            for _ in range(rng.randint(1, 5)):
                later.append(_leaf(_interaction(rng, branch, day, tz, customers, agent)))
                counts["interactions"] += 1
            if agent and rng.random() < 0.5:
                later.append(_leaf(_followup(rng, branch, day, tz, customers, agent)))
        await session.flush()
        sink = _Bulk()
        for then in later:
            then(sink)
        for at, acct, kind, amount, due, shift_of in sorted(ledger, key=lambda e: e[0]):
            _credit(sink, acct, kind, amount, at, due=due, user=clerk, shift=shift_of)
            counts["credit_entries"] += 1
        await session.flush()
        await sink.write(session)
    await audit.record(
        session,
        actor=ACTOR,
        action="demo.history",
        entity_type="demo",
        entity_id="history",
        after={"days": DAYS, **counts},
    )


class _Bulk:
    """Collects child rows and writes them as bulk INSERTs (no ORM unit of work per row)."""

    def __init__(self) -> None:
        self.rows: dict[type, list[dict]] = {}

    def add(self, obj) -> None:
        cols = {c.key for c in inspect(type(obj)).column_attrs}
        self.rows.setdefault(type(obj), []).append({k: v for k, v in vars(obj).items() if k in cols})

    def add_all(self, objs) -> None:
        for obj in objs:
            self.add(obj)

    async def write(self, session) -> None:
        for model, rows in self.rows.items():
            await session.execute(insert(model), rows)


def _leaf(obj):
    """A record whose parents already have ids: written with the children."""
    return lambda sink: sink.add(obj)


def _customer(rng, branch, b_index: int, day, tz, n: int, clerk) -> Customer:
    at = _at(rng, day, tz)
    return Customer(
        name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        email=f"history-{day:%Y%m%d}-{n}.b{b_index}@example.com",
        home_branch_id=branch.id,
        currency=branch.currency,
        kind="company" if rng.random() < 0.1 else "person",
        status="active",
        created_by_id=clerk.id if clerk else None,
        created_at=at,
        updated_at=at,
    )


def _shift(branch, clerk, day, tz) -> Shift:
    opened = datetime(day.year, day.month, day.day, 9, tzinfo=tz).astimezone(UTC)
    return Shift(
        branch_id=branch.id,
        user_id=clerk.id,
        status="closed",
        opened_at=opened,
        closed_at=opened + timedelta(hours=9),
        currency=branch.currency,
        created_at=opened,
        updated_at=opened + timedelta(hours=9),
    )


def _order(session, rng, branch, b_index, seq, day, tz, customers, products, shift, clerk):
    """An order with its cart; returns what to add once the order has its id."""
    at = _at(rng, day, tz)
    buyer = rng.choice(customers)
    in_store = shift is not None and rng.random() < 0.4
    picks = rng.sample(products, k=min(len(products), rng.randint(1, 3)))
    lines = [(p, rng.randint(1, 3)) for p in picks]
    total = sum(p.price_minor * q for p, q in lines)
    fate = rng.random()
    status = (
        "payment_failed"
        if fate < 0.06
        else "cancelled"
        if fate < 0.10
        else "refunded"
        if fate < 0.13
        else "completed"
    )
    cart = Cart(
        branch_id=branch.id,
        customer_id=buyer.id,
        status="checked_out",
        currency=branch.currency,
        item_count=sum(q for _, q in lines),
        subtotal_minor=total,
        total_minor=total,
        last_activity_at=at,
        created_at=at - timedelta(minutes=rng.randint(3, 40)),
        updated_at=at,
    )
    order = Order(
        token=f"demo-history-token-{b_index}-{seq}",
        idempotency_key=MARKER if seq == 1 else f"demo-history-{b_index}-{seq}",
        request_hash="demo",
        customer_id=buyer.id,
        email=buyer.email or "buyer@example.com",
        ship_name=buyer.name,
        ship_line1=f"{rng.randint(1, 400)} Harbor Way",
        ship_city="New York",
        ship_postcode="10001",
        ship_country="US",
        status=status,
        currency=branch.currency,
        subtotal_minor=total,
        total_minor=total,
        captured_minor=total if status in ("completed", "refunded") else 0,
        refunded_minor=total if status == "refunded" else 0,
        payment_method="pm_card_visa",
        placed_at=at,
        branch_id=branch.id,
        created_by_id=clerk.id if in_store else None,
        shift_id=shift.id if in_store else None,
        created_at=at,
        updated_at=at,
    )
    session.add_all([cart, order])
    voided_parcel = status == "cancelled" and rng.random() < 0.5
    r = random.Random(rng.random())  # children drawn later keep the main sequence stable

    def children(sink) -> None:
        cart.order_id = order.id
        for p, q in lines:
            sink.add(
                OrderLine(
                    order_id=order.id,
                    product_id=p.id,
                    sku=p.sku,
                    name=p.name,
                    qty=q,
                    unit_price_minor=p.price_minor,
                    line_total_minor=p.price_minor * q,
                    weight_g=p.weight_g * q,
                    fulfil_branch_id=branch.id,
                )
            )
            sink.add(
                CartLine(
                    cart_id=cart.id,
                    product_id=p.id,
                    sku=p.sku,
                    name=p.name,
                    qty=q,
                    unit_price_minor=p.price_minor,
                    line_total_minor=p.price_minor * q,
                )
            )
        _payments(sink, r, order, status, at, seq, b_index)
        if status in ("completed", "refunded") or voided_parcel:
            _parcel(sink, r, order, at, voided=voided_parcel)

    return children


def _abandoned_cart(session, rng, branch, day, tz, customers, products):
    at = _at(rng, day, tz)
    p = rng.choice(products)
    q = rng.randint(1, 2)
    cart = Cart(
        branch_id=branch.id,
        customer_id=rng.choice(customers).id if rng.random() < 0.5 else None,
        status="abandoned",
        currency=branch.currency,
        item_count=q,
        subtotal_minor=p.price_minor * q,
        total_minor=p.price_minor * q,
        last_activity_at=at,
        created_at=at,
        updated_at=at + timedelta(days=3),
    )
    session.add(cart)

    def children(sink) -> None:
        sink.add(
            CartLine(
                cart_id=cart.id,
                product_id=p.id,
                sku=p.sku,
                name=p.name,
                qty=q,
                unit_price_minor=p.price_minor,
                line_total_minor=p.price_minor * q,
            )
        )

    return children


def _complaint(session, rng, branch, day, tz, customers, products, agent, clerk):
    """A closed complaint; some answered late, some resolved late, some reopened."""
    at = _at(rng, day, tz)
    late_reply, late_fix = rng.random() < 0.15, rng.random() < 0.12
    responded = at + timedelta(minutes=rng.randint(300, 900) if late_reply else rng.randint(10, 200))
    resolved = at + timedelta(hours=rng.randint(50, 120) if late_fix else rng.randint(3, 40))
    p = rng.choice(products)
    reopened = rng.random() < 0.1
    c = Complaint(
        customer_id=rng.choice(customers).id,
        branch_id=branch.id,
        channel=rng.choice(("phone", "email", "store", "web")),
        category=rng.choice(CATEGORIES),
        severity=rng.choice(("low", "medium", "medium", "high")),
        sku=p.sku if rng.random() < 0.7 else None,
        description="Demo history complaint.",
        status="closed",
        assignee_id=agent.id if agent else None,
        first_response_minutes=240,
        resolution_minutes=2880,
        first_response_due_at=at + timedelta(minutes=240),
        resolution_due_at=at + timedelta(minutes=2880),
        responded_at=responded,
        resolved_at=resolved,
        first_response_breached=late_reply,
        resolution_breached=late_fix,
        outcome="Sorted out with the customer.",
        reopened_count=1 if reopened else 0,
        created_by_id=clerk.id if clerk else None,
        created_at=at,
        updated_at=resolved,
    )
    session.add(c)

    def children(sink) -> None:
        events = [("logged", at), ("resolved", resolved)]
        if reopened:
            events.append(("reopened", resolved + timedelta(hours=5)))
        sink.add_all(ComplaintEvent(complaint_id=c.id, kind=k, at=t, actor_name="Demo") for k, t in events)

    return children


def _interaction(rng, branch, day, tz, customers, agent) -> Interaction:
    at = _at(rng, day, tz)
    return Interaction(
        customer_id=rng.choice(customers).id,
        branch_id=branch.id,
        channel=rng.choice(("call", "call", "email", "visit", "note")),
        direction=rng.choice(("inbound", "outbound")),
        subject="Demo history",
        staff_id=agent.id if agent else None,
        occurred_at=at,
        created_by_id=agent.id if agent else None,
        created_at=at,
        updated_at=at,
    )


def _followup(rng, branch, day, tz, customers, agent) -> FollowUpTask:
    due = _at(rng, day, tz)
    late = rng.random() < 0.25
    done = due + (timedelta(hours=rng.randint(2, 30)) if late else -timedelta(hours=rng.randint(1, 5)))
    return FollowUpTask(
        customer_id=rng.choice(customers).id,
        branch_id=branch.id,
        title="Call back about the order",
        due_at=due,
        assignee_id=agent.id,
        status="done",
        escalated_at=due + timedelta(hours=1) if late and rng.random() < 0.5 else None,
        completed_at=done,
        completed_by_id=agent.id,
        created_at=due - timedelta(days=1),
        updated_at=done,
    )


def _payments(session, rng, order: Order, status: str, at: datetime, seq: int, b: int) -> None:
    def entry(kind: str, st: str, amount: int, when: datetime, message: str | None = None) -> None:
        session.add(
            PaymentEntry(
                order_id=order.id,
                branch_id=order.branch_id,
                kind=kind,
                status=st,
                amount_minor=amount,
                currency=order.currency,
                idempotency_key=f"demo-history-{b}-{seq}:{kind}",
                message=message,
                created_by_id=order.created_by_id,
                shift_id=order.shift_id,
                created_at=when,
                updated_at=when,
            )
        )

    if status == "payment_failed":
        if rng.random() < 0.3:
            entry("action_required", "requires_action", 0, at)
            entry(
                "failure",
                "failed",
                0,
                at + timedelta(minutes=30),
                "The payment was not authenticated in time.",
            )
        else:
            entry("failure", "declined", 0, at, "Your card was declined.")
        return
    entry("authorization", "authorized", order.total_minor, at)
    if status == "cancelled":
        entry("void", "succeeded", 0, at + timedelta(hours=2))
        return
    entry("capture", "succeeded", order.total_minor, at + timedelta(hours=20))
    if status == "refunded":
        entry("refund", "succeeded", order.total_minor, at + timedelta(days=rng.randint(3, 10)), "Returned")


def _parcel(session, rng, order: Order, at: datetime, *, voided: bool) -> None:
    labelled = at + timedelta(hours=rng.randint(6, 20))
    session.add(
        Parcel(
            order_id=order.id,
            branch_id=order.branch_id,
            status="voided" if voided else "delivered",
            weight_g=rng.randint(300, 5000),
            carrier="usps",
            service="Priority Mail",
            rate_minor=rng.randint(650, 2400),
            rate_currency=order.currency,
            label_id=f"demo-label-{order.id}",
            tracking_number=f"9400{order.id:012d}",
            labelled_at=labelled,
            picked_at=labelled - timedelta(hours=2),
            packed_at=labelled - timedelta(hours=1),
            shipped_at=None if voided else labelled + timedelta(hours=3),
            delivered_at=None if voided else labelled + timedelta(days=rng.randint(1, 4)),
            voided_at=labelled + timedelta(hours=1) if voided else None,
            created_at=at,
            updated_at=labelled,
        )
    )


def _credit(session, acct: CreditAccount, kind: str, amount: int, at: datetime, *, due, user, shift) -> None:
    acct.balance_minor += amount
    session.add(
        CreditEntry(
            account_id=acct.id,
            customer_id=acct.customer_id,
            branch_id=acct.branch_id,
            kind=kind,
            amount_minor=amount,
            currency=acct.currency,
            balance_after_minor=acct.balance_minor,
            reference=f"demo-history-{kind}-{acct.id}-{at:%Y%m%d%H%M%S}-{amount}",
            description="Demo history",
            occurred_at=at,
            due_at=due,
            created_by_id=user.id if user else None,
            shift_id=shift.id if shift else None,
        )
    )
