"""Complaint compensation that moves money (issue 14, items 1 and 2), on the time-skipping
server with localstripe: goodwill above the branch's threshold waits in ComplaintWorkflow for
finance; an approved refund goes back to the card of the complaint's order exactly once (a
worker crash after the gateway call included), or to the credit account without an online
payment; the outcome shows on the complaint, the order and the credit account."""

from contextlib import asynccontextmanager

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError

from backroom.approvals.schemas import Decision
from backroom.complaints import service as complaints
from backroom.complaints.flow import ComplaintInput, Resolution
from backroom.credit import ledger
from backroom.credit.models import CreditEntry
from backroom.orders import service as orders
from backroom.orders.models import PaymentEntry
from backroom.starts.models import WorkflowSignal
from tests.helpers import (
    TEST_ACTOR,
    CrashOnce,
    adapters,
    approval_for,
    create_customer,
    decide_as,
    eventually,
    paid_delivered_order,
    staff,
    uniq,
)
from worker.registry import Deps, build_worker
from workflows.complaints import ComplaintWorkflow

SLA = {"high": (60, 240)}


@asynccontextmanager
async def worker(env, db, settings, task_queue, extra):
    async with build_worker(
        env.client, Deps(settings=settings, sessionmaker=db.sessionmaker, extra=extra), task_queue=task_queue
    ):
        yield


async def log(s, customer_id, **kw):
    return await complaints.log_complaint(
        s,
        actor=TEST_ACTOR,
        customer_id=customer_id,
        channel="phone",
        category="damaged",
        severity="high",
        description="Arrived broken",
        sla=SLA,
        **kw,
    )


async def start(db, env, task_queue, *, customer_id, branch_id, order_id=None):
    async with db.sessionmaker.begin() as s:
        c = await log(s, customer_id, order_id=order_id, branch_id=branch_id)
    handle = await env.client.start_workflow(
        ComplaintWorkflow.run,
        ComplaintInput(
            complaint_id=c.id,
            branch_id=c.branch_id,
            title=f"complaint #{c.id}",
            first_response_minutes=60,
            resolution_minutes=240,
            reopen_window_minutes=60,
        ),
        id=f"complaint-{c.id}-{uniq()}",
        task_queue=task_queue,
    )
    return c.id, handle


async def resolve(db, handle, settings, cid, agent, **kw):
    """Resolve as the agent, then deliver the signal the use case queued (as the outbox would)."""
    actor = TEST_ACTOR.__class__.user(agent.id, agent.full_name)
    async with db.sessionmaker.begin() as s:
        await complaints.resolve(s, actor=actor, complaint_id=cid, outcome="Sorted", settings=settings, **kw)
        sig = await s.scalar(
            select(WorkflowSignal)
            .where(WorkflowSignal.workflow_id == f"complaint-{cid}", WorkflowSignal.signal == "resolved")
            .order_by(WorkflowSignal.id.desc())
        )
    await handle.signal(ComplaintWorkflow.resolved, Resolution.model_validate(sig.args))


async def settled(db, cid, status):
    async def check():
        async with db.read_sessionmaker() as s:
            c = await complaints.get(s, cid)
            return c if c.compensation_status == status else None

    return await eventually(check)


async def test_goodwill_under_the_branchs_threshold_posts_at_once(sqlite_db, settings):
    db, people = sqlite_db, await staff(sqlite_db, roles=("agent",))
    settings.goodwill_approval_over_minor = 100_000
    settings.approval_thresholds_by_branch = {people["branch"].code: {"goodwill_approval_over_minor": 1_000}}
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
        c = await log(s, cust.id)
        c = await complaints.resolve(
            s,
            actor=TEST_ACTOR,
            complaint_id=c.id,
            outcome="Sorry",
            compensation="goodwill",
            amount_minor=900,
            settings=settings,
        )
        account = await ledger.account_for(s, cust.id)
        assert c.compensation_status == "posted" and c.settled_minor == 900
        assert account.balance_minor == -900
        c2 = await log(s, cust.id)
        # Above this branch's own threshold (1,000, not the chain's 100,000): nothing is posted.
        c2 = await complaints.resolve(
            s,
            actor=TEST_ACTOR,
            complaint_id=c2.id,
            outcome="Sorry",
            compensation="goodwill",
            amount_minor=1_500,
            settings=settings,
        )
        assert c2.compensation_status == "pending_approval"
        assert (await ledger.account_for(s, cust.id)).balance_minor == -900


async def test_goodwill_above_the_threshold_waits_for_finance(
    sqlite_db, settings, ts_env, task_queue, save_history
):
    db, people = sqlite_db, await staff(sqlite_db, roles=("agent", "finance"))
    settings.goodwill_approval_over_minor = 1_000
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
    async with worker(ts_env, db, settings, task_queue, {}):
        cid, handle = await start(db, ts_env, task_queue, customer_id=cust.id, branch_id=people["branch"].id)
        await resolve(db, handle, settings, cid, people["agent"], compensation="goodwill", amount_minor=2_500)
        req = await approval_for(db, handle.id)
        assert (req.function, req.roles, req.amount_minor) == ("credit", "finance", 2_500)
        async with db.read_sessionmaker() as s:
            assert (
                await ledger.account_for(s, cust.id) is None
                or (await ledger.account_for(s, cust.id)).balance_minor == 0
            )
        # The agent cannot approve their own goodwill: the gate's validator refuses it.
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                "decide",
                Decision(request_id=req.id, approve=True, user_id=people["agent"].id, user_name="Agent"),
            )
        assert "own request" in str(refused.value.cause)
        assert (await decide_as(db, ts_env.client, req, people["finance"])).status == "approved"
        c = await settled(db, cid, "credited")
        async with db.read_sessionmaker() as s:
            account = await ledger.account_for(s, cust.id)
            entries = list(
                (await s.execute(select(CreditEntry).where(CreditEntry.account_id == account.id))).scalars()
            )
        assert c.settled_minor == 2_500 and account.balance_minor == -2_500
        assert [(e.kind, e.amount_minor) for e in entries] == [("goodwill", -2_500)]
        await save_history(handle, "complaint_goodwill_approved_running")
        await handle.terminate("test over")


async def test_an_approved_refund_goes_back_to_the_card_once_despite_a_crash(
    sqlite_db, commerce_settings, ts_env, task_queue, save_history
):
    db, settings = sqlite_db, commerce_settings
    people = await staff(db, roles=("agent", "supervisor"))
    real = adapters(settings)
    _b, customer, _p, order, _line = await paid_delivered_order(db, settings, real["payments"], price=10_000)
    assert order.captured_minor > 3_000
    extra = {"payments": CrashOnce(real["payments"], "refund"), "carrier": real["carrier"]}
    async with worker(ts_env, db, settings, task_queue, extra):
        cid, handle = await start(
            db, ts_env, task_queue, customer_id=customer.id, branch_id=people["branch"].id, order_id=order.id
        )
        await resolve(db, handle, settings, cid, people["agent"], compensation="refund", amount_minor=3_000)
        req = await approval_for(db, handle.id)
        assert (await decide_as(db, ts_env.client, req, people["supervisor"])).status == "approved"
        c = await settled(db, cid, "refunded")
        await save_history(handle, "complaint_refund_to_card_running")
        await handle.terminate("test over")
    assert extra["payments"].calls == {"refund": 2}  # the first attempt "crashed" after Stripe refunded
    intent = await real["payments"].retrieve(order.payment_intent_id)
    assert intent.refunded_minor == 3_000  # Stripe's view: refunded once (same idempotency key)
    async with db.read_sessionmaker() as s:
        o = await orders.get_order(s, order.id)
        refunds = list(
            (
                await s.execute(
                    select(PaymentEntry).where(
                        PaymentEntry.order_id == order.id, PaymentEntry.kind == "refund"
                    )
                )
            ).scalars()
        )
        timeline = [e.kind for e in await orders.events_of(s, order.id)]
        told = await s.scalar(
            select(WorkflowSignal).where(
                WorkflowSignal.workflow_id == f"order-{order.id}",
                WorkflowSignal.signal == "refunded_elsewhere",
            )
        )
        kinds = [e.kind for e in await complaints.events(s, cid)]
    assert [r.amount_minor for r in refunds] == [3_000] and o.refunded_minor == 3_000
    assert timeline.count("complaint_refund") == 1
    assert told.args == {"refunded_minor": 3_000}  # a running order workflow counts it as refunded
    assert kinds.count("refund_approved") == 1 and c.settled_minor == 3_000 and c.settled_ref


async def test_a_refund_is_never_more_than_the_card_has_left(sqlite_db, commerce_settings):
    db, settings = sqlite_db, commerce_settings
    people = await staff(db, roles=("agent",))
    _b, customer, _p, order, _line = await paid_delivered_order(
        db, settings, adapters(settings)["payments"], price=2_000
    )
    async with db.sessionmaker.begin() as s:
        c = await log(s, customer.id, order_id=order.id, branch_id=people["branch"].id)
    from backroom.errors import InvalidInput

    with pytest.raises(InvalidInput, match="can still be refunded"):
        async with db.sessionmaker.begin() as s:
            await complaints.resolve(
                s,
                actor=TEST_ACTOR,
                complaint_id=c.id,
                outcome="Refund",
                compensation="refund",
                amount_minor=order.captured_minor + 1,
                settings=settings,
            )


async def test_a_refund_without_an_online_payment_is_credited_to_the_account(
    sqlite_db, settings, ts_env, task_queue
):
    db, people = sqlite_db, await staff(sqlite_db, roles=("agent", "supervisor"))
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
    async with worker(ts_env, db, settings, task_queue, {}):
        cid, handle = await start(db, ts_env, task_queue, customer_id=cust.id, branch_id=people["branch"].id)
        await resolve(db, handle, settings, cid, people["agent"], compensation="refund", amount_minor=1_200)
        req = await approval_for(db, handle.id)
        assert (await decide_as(db, ts_env.client, req, people["supervisor"])).status == "approved"
        c = await settled(db, cid, "credited")
        await handle.terminate("test over")
    async with db.read_sessionmaker() as s:
        account = await ledger.account_for(s, cust.id)
        entries = list(
            (await s.execute(select(CreditEntry).where(CreditEntry.account_id == account.id))).scalars()
        )
    assert [(e.kind, e.amount_minor) for e in entries] == [("refund", -1_200)]
    assert c.settled_minor == 1_200 and account.balance_minor == -1_200


async def test_a_complaint_names_only_one_of_the_customers_orders(sqlite_db, commerce_settings):
    db, settings = sqlite_db, commerce_settings
    _b, customer, _p, order, _line = await paid_delivered_order(db, settings, adapters(settings)["payments"])
    from backroom.errors import InvalidInput

    async with db.sessionmaker.begin() as s:
        other = await create_customer(s, branch=_b)
    for who, order_id in ((other.id, order.id), (customer.id, 9 * 10**17)):
        with pytest.raises(InvalidInput, match="not one of this customer's orders"):
            async with db.sessionmaker.begin() as s:
                await log(s, who, order_id=order_id)
    async with db.sessionmaker.begin() as s:
        c = await log(s, customer.id, order_id=order.id)
        assert [o.id for o in await complaints.orders_to_choose(s, customer.id)] == [order.id]
    assert c.order_id == order.id
