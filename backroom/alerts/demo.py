"""Demo alerts and targets, so both dashboards and both analytics pages have something to show
for `manager` on a fresh install: a few records in trouble (a complaint past its SLA, an order
stuck in 3-D Secure, one past its pick time, one waiting to be picked, a held credit sale),
targets for this week and month (and last week's, set too high), then one sweep and the target
check raise the alerts from that data exactly as the worker's sweep would.

Domain demos run in alphabetical order and `alerts` sorts before the catalog, CRM and report
history it needs, so this seed first runs those (they are idempotent; seed.py running them again
afterwards changes nothing). Idempotent itself: records are found by their demo keys."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backroom.alerts import sweep
from backroom.analytics import checks
from backroom.analytics import targets as targets_svc
from backroom.analytics.models import Target
from backroom.audit.context import Actor
from backroom.catalog.models import Product
from backroom.complaints.models import Complaint
from backroom.credit.models import CreditAccount, CreditHold
from backroom.customers.models import Customer
from backroom.db.base import utcnow
from backroom.orders.models import Alert as OrderAlert
from backroom.orders.models import Order, OrderLine
from backroom.plugins import each_domain
from backroom.reports.periods import Edition, period_for, previous

ACTOR = Actor.system("seed")
NEEDS = ("backroom.catalog.demo", "backroom.crm.demo", "backroom.reports.demo")


async def _prerequisites(session, context) -> None:
    for demo in each_domain("demo"):
        if demo.__name__ in NEEDS:
            await demo.seed(session, context)


async def _order(session, branch, product, *, key: str, status: str, minutes_ago: int, name: str) -> Order:
    found = await session.scalar(select(Order).where(Order.idempotency_key == key))
    if found:
        return found
    at = utcnow() - timedelta(minutes=minutes_ago)
    o = Order(
        token=f"{key}-token",
        idempotency_key=key,
        request_hash="demo",
        email="demo.buyer@example.com",
        ship_name=name,
        ship_line1="5 Harbor Way",
        ship_city="New York",
        ship_postcode="10004",
        ship_country="US",
        status=status,
        currency=branch.currency,
        subtotal_minor=product.price_minor,
        total_minor=product.price_minor,
        payment_method="pm_card_threeDSecure2Required"
        if status == "awaiting_authentication"
        else "pm_card_visa",
        placed_at=at,
        branch_id=branch.id,
        created_at=at,
        updated_at=at,
    )
    session.add(o)
    await session.flush()
    session.add(
        OrderLine(
            order_id=o.id,
            product_id=product.id,
            sku=product.sku,
            name=product.name,
            qty=1,
            unit_price_minor=product.price_minor,
            line_total_minor=product.price_minor,
            fulfil_branch_id=branch.id,
        )
    )
    await session.flush()
    return o


async def _troubles(session, context) -> None:
    branch = context["branches"][0]
    product = await session.scalar(select(Product).where(Product.status == "active").order_by(Product.id))
    if product is not None:
        await _order(
            session,
            branch,
            product,
            key="demo-alert-3ds",
            status="awaiting_authentication",
            minutes_ago=95,
            name="Dana Whitfield",
        )
        await _order(
            session,
            branch,
            product,
            key="demo-alert-to-pick",
            status="payment_authorized",
            minutes_ago=40,
            name="Evan Patel",
        )
        late = await _order(
            session,
            branch,
            product,
            key="demo-alert-pick",
            status="picking",
            minutes_ago=300,
            name="Bob Chen",
        )
        if not await session.scalar(select(OrderAlert.id).where(OrderAlert.key == "demo-alert-pick")):
            session.add(
                OrderAlert(
                    kind="pick_timeout",
                    severity="warning",
                    subject_type="order",
                    subject_id=str(late.id),
                    message="Not picked within the promised 2 hours.",
                    status="open",
                    key="demo-alert-pick",
                    branch_id=branch.id,
                )
            )
    customer = await session.scalar(select(Customer).where(Customer.email == "alice.moreno@example.com"))
    if customer and not await session.scalar(
        select(Complaint.id).where(Complaint.description.like("DEMO-ALERT%"))
    ):
        now = utcnow()
        session.add(
            Complaint(
                customer_id=customer.id,
                branch_id=branch.id,
                channel="email",
                category="damaged",
                severity="high",
                description="DEMO-ALERT: the kettle arrived with a cracked lid; no answer for two days.",
                status="open",
                first_response_minutes=120,
                resolution_minutes=1440,
                first_response_due_at=now - timedelta(days=2),
                resolution_due_at=now - timedelta(days=1),
                first_response_breached=True,
                resolution_breached=True,
                created_at=now - timedelta(days=2, hours=2),
                updated_at=now,
            )
        )
    account = await session.scalar(
        select(CreditAccount)
        .join(Customer, Customer.id == CreditAccount.customer_id)
        .where(Customer.email == "orders@harborcafe.example.com")
    )
    if account and not await session.scalar(
        select(CreditHold.id).where(CreditHold.reference == "DEMO-HOLD-1")
    ):
        session.add(
            CreditHold(
                account_id=account.id,
                customer_id=account.customer_id,
                branch_id=account.branch_id,
                amount_minor=250_000,
                currency=account.currency,
                reference="DEMO-HOLD-1",
                description="Catering order over the credit limit",
                status="pending",
            )
        )
    await session.flush()


async def _targets(session, context) -> None:
    """This week's, this month's and last week's targets per branch (last week's above what was
    done, so the daily check raises a "target missed" alert)."""
    if await session.scalar(select(Target.id).limit(1)):
        return
    today = utcnow().date()
    week, month = period_for(Edition.WEEKLY, today), period_for(Edition.MONTHLY, today)
    last_week = previous(week)
    manager = context["users"].get("manager")
    actor = Actor.user(manager.id, manager.full_name) if manager else ACTOR
    plan = (
        ("orders", "placed", Edition.WEEKLY, week.label, "90"),
        ("orders", "placed", Edition.WEEKLY, last_week.label, "500"),
        ("orders", "value", Edition.MONTHLY, month.label, "20,000.00"),
        ("complaints", "logged", Edition.WEEKLY, week.label, "8"),
        ("complaints", "resolved", Edition.WEEKLY, last_week.label, "200"),
    )
    for branch in context["branches"]:
        for fn, measure, edition, label, value in plan:
            await targets_svc.set_target(
                session,
                actor=actor,
                data=targets_svc.TargetIn(
                    function=fn,
                    measure=measure,
                    branch_id=branch.id,
                    edition=edition,
                    period=label,
                    value=value,
                ),
            )


async def seed(session, context) -> None:
    await _prerequisites(session, context)
    await _troubles(session, context)
    await _targets(session, context)
    now = utcnow()
    await sweep.sweep(session, actor=Actor.system("Alert sweep (demo)"), now=now)
    await checks.check_targets(session, actor=ACTOR, now=now)
    # Forecast outliers are left to the worker's first sweep round (it runs the daily checks at
    # once): fitting the models would double the time of `backroom seed`.
