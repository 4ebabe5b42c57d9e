"""Demo records for customer operations: customers, interactions, a follow-up, an open
complaint and a credit account with sales and payments. Idempotent (keyed by email/reference)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.complaints import service as complaints
from backroom.complaints.models import Channel, Complaint, Severity
from backroom.complaints.schemas import ComplaintCreate
from backroom.credit import ledger
from backroom.crm import service as crm
from backroom.crm.models import Interaction
from backroom.crm.schemas import TaskCreate
from backroom.customers import service as customers
from backroom.customers.models import Customer
from backroom.db.base import utcnow
from backroom.settings import get_settings

ACTOR = Actor.system("seed")


PEOPLE = [
    ("Alice Moreno", "alice.moreno@example.com", "+1 212 555 0101", ["vip"], 500_000),
    ("Bob Chen", "bob.chen@example.com", "+1 212 555 0102", [], 0),
    ("Harbor Cafe LLC", "orders@harborcafe.example.com", "+1 212 555 0199", ["b2b"], 1_000_000),
    ("Dana Whitfield", "dana.w@example.com", "+1 646 555 0144", ["newsletter"], 0),
    ("Evan Patel", "evan.patel@example.com", "+1 917 555 0177", [], 0),
]


async def _customer(session, branch, name, email, phone, tags, limit) -> Customer:
    c = await session.scalar(select(Customer).where(Customer.email == email))
    if c:
        return c
    c = Customer(
        name=name,
        email=email,
        phone=phone,
        tags=tags,
        home_branch_id=branch.id,
        currency=branch.currency,
        credit_limit_minor=limit,
        kind="company" if "LLC" in name else "person",
        consent_email="newsletter" in tags,
        status="active",
    )
    session.add(c)
    await session.flush()
    await audit.record(
        session,
        actor=ACTOR,
        action="customer.create",
        entity_type="customer",
        entity_id=c.id,
        branch_id=branch.id,
        after=audit.snapshot(c),
    )
    return c


async def seed(session, context) -> None:
    branch = context["branches"][0]
    users = context["users"]
    made = [await _customer(session, branch, *row) for row in PEOPLE]
    alice, bob, cafe = made[0], made[1], made[2]
    if not await session.scalar(select(Interaction.id).where(Interaction.customer_id == alice.id)):
        agent = Actor.user(users["agent"].id, users["agent"].full_name)
        await crm.log_interaction(
            session,
            actor=agent,
            customer_id=alice.id,
            channel="call",
            direction="inbound",
            subject="Asked about a delayed delivery",
            outcome="Promised an update by Friday",
        )
        await crm.log_interaction(
            session,
            actor=agent,
            customer_id=cafe.id,
            channel="visit",
            direction="outbound",
            subject="Quarterly account review",
            outcome="Wants 45-day terms",
        )
        await crm.log_interaction(
            session,
            actor=agent,
            customer_id=bob.id,
            channel="email",
            direction="outbound",
            subject="Warranty question answered",
        )
        # The seed has no Temporal client: the worker's outbox poller starts the workflows.
        await crm.create_followup(
            session,
            customer_id=alice.id,
            data=TaskCreate(
                title="Call Alice about her delivery",
                due_at=utcnow() + timedelta(days=1),
                assignee_id=users["agent"].id,
            ),
            actor=agent,
            grace_minutes=get_settings().followup_grace_minutes,
        )
        await customers.add_address(
            session,
            actor=ACTOR,
            customer_id=cafe.id,
            kind="billing",
            line1="12 Harbor Way",
            city="New York",
            region="NY",
            postal_code="10004",
            country="US",
            is_default=True,
        )
        await customers.add_contact(
            session,
            actor=ACTOR,
            customer_id=cafe.id,
            name="Maria Lopez",
            role="Buyer",
            email="maria@harborcafe.example.com",
        )
    if not await session.scalar(select(Complaint.id).where(Complaint.customer_id == alice.id)):
        await complaints.open_complaint(
            session,
            data=ComplaintCreate(
                customer_id=alice.id,
                channel=Channel.phone,
                category="late delivery",
                severity=Severity.high,
                description="Order arrived 9 days late and the box was crushed.",
                sku="MUG-BLUE-12",
            ),
            actor=Actor.user(users["agent"].id, users["agent"].full_name),
            sla={"high": (120, 1440)},
            reopen_minutes=get_settings().complaint_reopen_minutes,
        )
    acct = await ledger.open_account(session, actor=ACTOR, customer_id=cafe.id, terms_days=30, grace_days=5)
    now = utcnow()
    for ref, kind, amount, days_ago in (
        ("DEMO-INV-1001", "sale", 180_000, 75),
        ("DEMO-INV-1002", "sale", 95_000, 40),
        ("DEMO-PAY-2001", "payment", 150_000, 30),
        ("DEMO-INV-1003", "sale", 60_000, 10),
    ):
        await ledger.post_entry(
            session,
            actor=ACTOR,
            account_id=acct.id,
            kind=kind,
            amount_minor=amount,
            currency=acct.currency,
            reference=ref,
            description=f"Demo {kind}",
            occurred_at=now - timedelta(days=days_ago),
        )
