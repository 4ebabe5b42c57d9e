"""Demo after-sales cases in several states: a new request, one waiting for the item, one
waiting for the customer's answer to a repair quote, one in repair, one ready to hand back,
opened over the last six weeks.
Each case's workflow starts (through the outbox) in the state it was seeded in. Idempotent."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backroom.aftersales import service as aftersales
from backroom.aftersales.flow import STEPS, CaseAction, QuoteLineIn, Transition
from backroom.aftersales.models import RmaCase
from backroom.aftersales.schemas import CaseCreate
from backroom.audit.context import Actor
from backroom.branches.service import work_calendar
from backroom.catalog.models import Product
from backroom.db.base import utcnow
from backroom.settings import get_settings
from backroom.starts.models import WorkflowStart
from backroom.warranty import demo as warranty_demo

ACTOR = Actor.system("seed")
TECH = CaseAction(action="", user_name="Demo Technician")
QUOTE = [
    QuoteLineIn(kind="part", description="Replacement ear cushion set", unit_minor=2900),
    QuoteLineIn(kind="labour", description="Bench time, 30 min", qty=1, unit_minor=3500),
]
# owner index, sku, serial, reason, the steps taken so far
CASES = (
    (0, "SPEAK-BT", "SPK-24-000117", "Crackles at high volume", ()),
    (2, "HEAD-ANC", "ANC-25-000321", "Left cup silent", ("approve",)),
    (
        1,
        "HEAD-ANC",
        "ANC-22-009981",
        "Ear cushion torn, hinge loose",
        ("approve", "receive", "diagnose", "quote"),
    ),
    (0, "LAMP-ARC", "ARC-23-004410", "Switch does not click", ("approve", "receive", "diagnose")),
    (
        2,
        "KNIFE-CHEF",
        "KNF-21-000777",
        "Handle rivet loose",
        ("approve", "receive", "diagnose", "repaired", "qc_pass"),
    ),
)


async def seed(session, context) -> None:
    await warranty_demo.seed(session, context)
    settings = get_settings()
    people = await warranty_demo.owners(session, context["branches"][0])
    for age, (who, sku, serial, reason, steps) in enumerate(CASES):
        customer = people[who]
        if await session.scalar(
            select(RmaCase.id).where(RmaCase.customer_id == customer.id, RmaCase.reason == reason)
        ):
            continue
        product = await session.scalar(select(Product).where(Product.sku == sku))
        c = await aftersales.open_case(
            session,
            actor=ACTOR,
            data=CaseCreate(
                kind="repair", reason=reason, customer_id=customer.id, product_id=product.id, serial=serial
            ),
            settings=settings,
        )
        for n, action in enumerate(steps):
            step = TECH.model_copy(
                update={
                    "action": action,
                    "diagnosis": "Worn part" if action == "diagnose" else None,
                    "lines": QUOTE if action == "quote" else [],
                }
            )
            to = STEPS[action].to
            if action == "approve":  # the workflow's own step after approval (in store: no label)
                await aftersales.transition(
                    session,
                    actor=ACTOR,
                    t=Transition(
                        case_id=c.id,
                        action="approve",
                        to_state=to,
                        key=f"demo-rma-{c.id}:{n}",
                        at=utcnow(),
                        step=step,
                    ),
                )
                action, to, step = "await_item", "awaiting_item", None
            if action == "diagnose" and c.under_warranty:
                await aftersales.transition(
                    session,
                    actor=ACTOR,
                    t=Transition(
                        case_id=c.id,
                        action="diagnose",
                        to_state=to,
                        key=f"demo-rma-{c.id}:{n}:d",
                        at=utcnow(),
                        step=step,
                    ),
                )
                action, to, step = "free_repair", "in_repair", None
            await aftersales.transition(
                session,
                actor=ACTOR,
                t=Transition(
                    case_id=c.id,
                    action=action,
                    to_state=to,
                    key=f"demo-rma-{c.id}:{n}:s",
                    at=utcnow(),
                    step=step,
                ),
            )
        # Opened over the last weeks, so the after-sales reports have a history to show.
        c.created_at = utcnow() - timedelta(days=2 + 9 * age)
        # The queued start carries the state the case was seeded in.
        start = await session.scalar(select(WorkflowStart).where(WorkflowStart.workflow_id == c.workflow_id))
        cal = await work_calendar(session, c.branch_id)
        start.args = aftersales.workflow_input(c, settings, cal).model_dump(mode="json")
        await session.flush()
