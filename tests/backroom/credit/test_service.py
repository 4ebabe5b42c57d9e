"""Credit use cases: a sale over available credit queues its hold's workflow, a payment tells
every pending hold, a goodwill credit is never negative."""

import pytest
from sqlalchemy import select

from backroom.audit.context import Actor
from backroom.credit import flow, ledger
from backroom.credit import service as credit
from backroom.credit.schemas import Adjustment, CreditSale, LimitChangeIn, Payment
from backroom.errors import InvalidInput
from backroom.starts.models import WorkflowSignal, WorkflowStart
from tests.custops_helpers import create_customer, staff
from tests.helpers import TEST_ACTOR, uniq


async def test_hold_start_payment_signal_and_goodwill_rule(sqlite_db, settings):
    db = sqlite_db
    people = await staff(db, roles=("clerk",))
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"], credit_limit_minor=1_000)
        await ledger.open_account(s, actor=TEST_ACTOR, customer_id=cust.id)
    sale = {"currency": "USD", "description": "Tiles"}
    async with db.sessionmaker.begin() as s:
        posted = await credit.sell_on_credit(
            s,
            customer_id=cust.id,
            data=CreditSale(amount_minor=600, reference=uniq("s"), **sale),
            actor=TEST_ACTOR,
            settings=settings,
        )
        held = await credit.sell_on_credit(
            s,
            customer_id=cust.id,
            data=CreditSale(amount_minor=600, reference=uniq("s"), **sale),
            actor=TEST_ACTOR,
            settings=settings,
        )
    assert posted.status == "posted" and held.status == "held"
    async with db.sessionmaker() as s:
        starts = list(await s.scalars(select(WorkflowStart).where(WorkflowStart.customer_id == cust.id)))
    assert [(r.workflow_type, r.workflow_id) for r in starts] == [
        (flow.HOLD_WORKFLOW, flow.hold_workflow_id(held.hold.id))
    ]
    assert starts[0].args["finance_hours"] == settings.credit_hold_finance_hours

    async with db.sessionmaker.begin() as s:
        await credit.post_payment(
            s,
            customer_id=cust.id,
            data=Payment(amount_minor=300, reference=uniq("p"), **sale),
            actor=TEST_ACTOR,
        )
    async with db.sessionmaker() as s:
        signals = list(
            await s.scalars(select(WorkflowSignal).where(WorkflowSignal.workflow_id == held.hold.workflow_id))
        )
    assert [r.signal for r in signals] == [flow.HOLD_PAYMENT_POSTED]

    with pytest.raises(InvalidInput, match="goodwill"):
        async with db.sessionmaker.begin() as s:
            await credit.adjust(
                s,
                customer_id=cust.id,
                data=Adjustment(
                    kind="goodwill",
                    amount_minor=-50,
                    currency="USD",
                    reference=uniq("g"),
                    description="Sorry",
                ),
                actor=TEST_ACTOR,
            )


async def test_limit_request_queues_its_workflow(sqlite_db, settings):
    db = sqlite_db
    people = await staff(db, roles=("clerk",))
    clerk = Actor.user(people["clerk"].id, people["clerk"].full_name)
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
        req = await credit.request_limit_change(
            s,
            customer_id=cust.id,
            data=LimitChangeIn(requested_limit_minor=50_000, reason="Good payer"),
            actor=clerk,
            settings=settings,
        )
    async with db.sessionmaker() as s:
        start = await s.scalar(select(WorkflowStart).where(WorkflowStart.workflow_id == req.workflow_id))
    assert start.workflow_type == flow.LIMIT_CHANGE_WORKFLOW
    assert req.workflow_id == flow.limit_change_workflow_id(req.id)
    assert start.args["requested_limit_minor"] == 50_000 and start.args["customer_name"] == cust.name
    assert start.args["requested_by_name"] == people["clerk"].full_name
