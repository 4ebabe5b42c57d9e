"""RmaCaseWorkflow on the time-skipping server with localstripe and the local carrier: repairs
under warranty and paid, quotes approved/declined/unanswered, refunds through the approval
gate, exchanges, crashes inside the label and refund steps, and the SLA clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from backroom.aftersales import service as aftersales
from backroom.aftersales.flow import CaseAction, QuoteLineIn
from backroom.aftersales.models import RmaCase, RmaEvent
from backroom.aftersales.schemas import CaseCreate
from backroom.alerts.models import ExceptionAlert
from backroom.approvals.models import ApprovalRequest
from backroom.approvals.schemas import Decision
from backroom.notifications.models import Notification
from backroom.orders import service as orders
from backroom.orders.models import Order, PaymentEntry
from backroom.starts.models import WorkflowStart
from tests.conftest import binary
from tests.helpers import (
    TEST_ACTOR,
    CrashOnce,
    adapters,
    case_step,
    create_branch,
    create_customer,
    create_user,
    eventually,
    paid_delivered_order,
    uniq,
    until_idle,
    warranted_product,
)
from worker.registry import Deps, build_worker
from workflows.aftersales import RmaCaseWorkflow

TECH = {"user_id": None, "user_name": "Tess Technician"}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def ts_env():
    """A time-skipping server of this module's own: workflows other tests leave behind on the
    shared one can stop it from skipping time, and these tests skip months."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=pydantic_data_converter
    )
    yield env
    await env.shutdown()


@pytest.fixture
def shop(commerce_settings):
    commerce_settings.refund_approval_over_minor = 10**9  # no approval unless a test lowers it
    return commerce_settings, adapters(commerce_settings)


def worker(env, db, settings, task_queue, extra):
    return build_worker(
        env.client, Deps(settings=settings, sessionmaker=db.sessionmaker, extra=extra), task_queue=task_queue
    )


async def open_case(db, settings, env, task_queue, **kw):
    async with db.sessionmaker.begin() as s:
        c = await aftersales.open_case(s, actor=TEST_ACTOR, data=CaseCreate(**kw), settings=settings)
        inp = aftersales.workflow_input(c, settings)
    handle = await env.client.start_workflow(
        RmaCaseWorkflow.run, inp, id=f"{c.workflow_id}-{uniq()}", task_queue=task_queue
    )
    return c, handle


async def act(handle, action, **kw):
    """Send a person's step once the workflow lets people act (it may still be busy)."""
    return await case_step(handle, CaseAction(action=action, **TECH, **kw))


async def refused(handle, action, match, **kw):
    """The step is refused at once by the validator, with a reason a person understands (asked
    again while the workflow is only busy with its own part)."""
    for _ in range(200):
        await until_idle(handle)
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await handle.execute_update(RmaCaseWorkflow.act, CaseAction(action=action, **kw))
        if "being processed" not in str(info.value.cause):
            break
        await asyncio.sleep(0.05)
    assert match in str(info.value.cause)


async def wait_state(handle, state):
    async def check():
        return (await handle.query(RmaCaseWorkflow.view)).state == state

    await eventually(check)


async def case_row(db, cid):
    async with db.read_sessionmaker() as s:
        c = await s.get(RmaCase, cid)
        trail = [(e.kind, e.to_state) for e in await aftersales.events(s, cid)]
    return c, trail


async def test_full_repair_under_warranty_by_post(ts_env, sqlite_db, shop, task_queue):
    db, (settings, extra) = sqlite_db, shop
    _b, _cust, _p, _order, line = await paid_delivered_order(db, settings, extra["payments"])
    c, handle = await open_case(
        db, settings, ts_env, task_queue, kind="repair", reason="Motor stops", order_line_id=line.id
    )
    assert c.under_warranty and c.warranty_id and c.by_post
    async with worker(ts_env, db, settings, task_queue, extra):
        await act(handle, "approve")
        await wait_state(handle, "awaiting_item")
        await act(handle, "receive", note="Box intact")
        await act(handle, "diagnose", diagnosis="Worn brushes")
        await wait_state(handle, "in_repair")
        await refused(
            handle,
            "quote",
            "not possible now",
            lines=[QuoteLineIn(kind="part", description="x", unit_minor=1)],
        )
        await act(handle, "repaired", note="New brushes")
        await act(handle, "qc_fail", note="Still noisy")
        await act(handle, "repaired")
        await act(handle, "qc_pass")
        await wait_state(handle, "ready")
        await act(handle, "hand_over")
        assert await handle.result() == "closed"
    row, trail = await case_row(db, c.id)
    assert (
        row.charged_minor == 0 and row.return_tracking and row.outbound_tracking and row.outcome == "returned"
    )
    states = [to for _k, to in trail if to]  # transitions (labels are timeline entries)
    assert states == [
        "requested", "approved", "awaiting_item", "received", "diagnosed", "in_repair",
        "quality_check", "in_repair", "quality_check", "ready", "returned", "closed",
    ]  # fmt: skip
    assert [k for k, _ in trail].count("return_label") == 1 and [k for k, _ in trail].count(
        "outbound_label"
    ) == 1


async def _quoted_repair(db, settings, env, task_queue, handle_steps=True):
    """An in-store repair of an item out of warranty, diagnosed and quoted (2 lines)."""
    async with db.sessionmaker.begin() as s:
        branch = await create_branch(s)
        customer = await create_customer(s, branch=branch)
        product = await warranted_product(s, months=0)
    c, handle = await open_case(
        db, settings, env, task_queue, kind="repair", reason="Cracked case", customer_id=customer.id,
        product_id=product.id,
    )  # fmt: skip
    assert not c.under_warranty and not c.by_post
    return c, handle


async def _to_quote(handle):
    await act(handle, "approve")
    await act(handle, "receive")
    await act(handle, "diagnose", diagnosis="Housing cracked")
    await act(
        handle,
        "quote",
        lines=[
            QuoteLineIn(kind="part", description="Housing", unit_minor=2500),
            QuoteLineIn(kind="labour", description="Labour, 30 min", qty=2, unit_minor=1500),
        ],
    )
    await wait_state(handle, "quote_sent")


async def test_paid_repair_with_quote_approved(ts_env, sqlite_db, shop, task_queue, save_history):
    db, (settings, extra) = sqlite_db, shop
    c, handle = await _quoted_repair(db, settings, ts_env, task_queue)
    async with worker(ts_env, db, settings, task_queue, extra):
        await _to_quote(handle)

        async def quote_mail():
            async with db.read_sessionmaker() as s:
                return await s.scalar(
                    select(Notification).where(Notification.dedupe_key == f"{handle.id}:quote:sent")
                )

        mail = await eventually(quote_mail)
        async with db.read_sessionmaker() as s:
            row = await s.get(RmaCase, c.id)
            # The signed link in the mail opens this case, and only for this quote.
            token = mail.link.rsplit("/", 1)[1]
            assert (await aftersales.case_from_token(s, settings.session_secret(), token)).id == c.id
        assert row.quote_minor == 5500 and "55.00 USD" in mail.body
        await act(handle, "quote_approve", note="via link")
        await wait_state(handle, "in_repair")
        await act(handle, "repaired")
        await act(handle, "qc_pass")
        await act(handle, "hand_over")
        assert await handle.result() == "closed"
        await save_history(handle, "rma_paid_repair_quote_approved")
    row, trail = await case_row(db, c.id)
    assert row.charged_minor == 5500 and row.outcome == "returned"
    assert ("start_repair", "in_repair") in trail and ("quote_approve", "quote_approved") in trail


async def test_quote_declined_item_returned(ts_env, sqlite_db, shop, task_queue):
    db, (settings, extra) = sqlite_db, shop
    c, handle = await _quoted_repair(db, settings, ts_env, task_queue)
    async with worker(ts_env, db, settings, task_queue, extra):
        await _to_quote(handle)
        await act(handle, "quote_decline", note="Too expensive")
        await wait_state(handle, "ready")
        await refused(handle, "repaired", "not possible now")
        await act(handle, "hand_over")
        assert await handle.result() == "closed"
    row, trail = await case_row(db, c.id)
    assert row.charged_minor == 0 and row.outcome == "returned"
    assert ("return_unrepaired", "ready") in trail and not any(to == "in_repair" for _k, to in trail)


async def test_quote_unanswered_reminds_once_then_declines(ts_env, sqlite_db, shop, task_queue):
    db, (settings, extra) = sqlite_db, shop
    c, handle = await _quoted_repair(db, settings, ts_env, task_queue)
    async with worker(ts_env, db, settings, task_queue, extra):
        await _to_quote(handle)
        await ts_env.sleep(timedelta(days=settings.rma_quote_days + 3))
        await wait_state(handle, "ready")
        await refused(handle, "quote_approve", "ready")
        await act(handle, "hand_over")
        assert await handle.result() == "closed"
    row, trail = await case_row(db, c.id)
    kinds = [k for k, _ in trail]
    assert kinds.count("quote_mailed") == 1 and kinds.count("quote_reminder") == 1
    assert ("quote_expired", "quote_declined") in trail and row.charged_minor == 0
    async with db.read_sessionmaker() as s:
        mails = await s.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.dedupe_key.like(f"{handle.id}:quote:%"))
        )
    assert mails == 2


async def test_refund_above_threshold_waits_for_the_manager(
    ts_env, sqlite_db, shop, task_queue, save_history
):
    db, (settings, extra) = sqlite_db, shop
    settings.refund_approval_over_minor = 1000
    branch, _cust, _product, order, line = await paid_delivered_order(db, settings, extra["payments"])
    async with db.sessionmaker.begin() as s:
        manager = await create_user(s, grants=[("manager", branch.id)], full_name="Mia Manager")
    c, handle = await open_case(
        db, settings, ts_env, task_queue, kind="refund", reason="Changed my mind", order_line_id=line.id
    )
    assert c.refund_minor == line.line_total_minor + line.tax_minor
    async with worker(ts_env, db, settings, task_queue, extra):
        await act(handle, "approve")
        await act(handle, "receive", note="As new")

        async def gate():
            async with db.read_sessionmaker() as s:
                return await s.scalar(select(ApprovalRequest).where(ApprovalRequest.workflow_id == handle.id))

        req = await eventually(gate)
        assert req.function == "service" and req.amount_minor == c.refund_minor
        assert (await handle.query(RmaCaseWorkflow.view)).state == "received"  # no money before approval
        await handle.execute_update(
            "decide",
            Decision(request_id=req.id, approve=True, reason="ok", user_id=manager.id, user_name="Mia"),
        )
        assert await handle.result() == "closed"
        await save_history(handle, "rma_refund_by_post_approved")
    row, _trail = await case_row(db, c.id)
    intent = await extra["payments"].retrieve(order.payment_intent_id)
    assert row.outcome == "refunded" and row.refund_id and intent.refunded_minor == c.refund_minor
    assert row.restocked  # back on sale


async def test_exchange_places_a_zero_price_replacement(ts_env, sqlite_db, shop, task_queue):
    db, (settings, extra) = sqlite_db, shop
    _b, customer, product, _order, line = await paid_delivered_order(db, settings, extra["payments"])
    c, handle = await open_case(
        db, settings, ts_env, task_queue, kind="exchange", reason="Wrong colour", order_line_id=line.id
    )
    async with worker(ts_env, db, settings, task_queue, extra):
        await act(handle, "approve")
        await act(handle, "receive", damaged=True)
        assert await handle.result() == "closed"
    row, _trail = await case_row(db, c.id)
    async with db.read_sessionmaker() as s:
        replacement = await s.get(Order, row.replacement_order_id)
        start = await s.scalar(select(WorkflowStart).where(WorkflowStart.order_id == replacement.id))
        lines = await orders.lines_of(s, replacement.id)
    assert row.outcome == "replaced" and row.damaged and not row.restocked
    assert replacement.total_minor == 0 and replacement.customer_id == customer.id
    assert [(ln.product_id, ln.qty) for ln in lines] == [(product.id, 1)]
    assert start.workflow_type == "OrderFulfillmentWorkflow"


async def test_crash_inside_label_and_refund_steps_buys_once_refunds_once(
    ts_env, sqlite_db, shop, task_queue
):
    db, (settings, real) = sqlite_db, shop
    extra = {
        "payments": CrashOnce(real["payments"], "refund"),
        "carrier": CrashOnce(real["carrier"], "buy_label"),
    }
    _b, _cust, _p, order, line = await paid_delivered_order(db, settings, real["payments"])
    c, handle = await open_case(
        db, settings, ts_env, task_queue, kind="refund", reason="Faulty", order_line_id=line.id
    )
    async with worker(ts_env, db, settings, task_queue, extra):
        await act(handle, "approve")
        await act(handle, "receive")
        assert await handle.result() == "closed"
    assert extra["carrier"].calls == {"buy_label": 2} and extra["payments"].calls == {"refund": 2}
    intent = await real["payments"].retrieve(order.payment_intent_id)
    assert intent.refunded_minor == c.refund_minor  # Stripe's view: refunded once
    row, trail = await case_row(db, c.id)
    async with db.read_sessionmaker() as s:
        refunds = list(
            await s.scalars(
                select(PaymentEntry).where(PaymentEntry.order_id == order.id, PaymentEntry.kind == "refund")
            )
        )
    assert [r.amount_minor for r in refunds] == [c.refund_minor]
    assert [k for k, _ in trail].count("return_label") == 1 and row.outcome == "refunded"


async def test_sla_paused_while_waiting_for_the_item_then_breach_alert(ts_env, sqlite_db, shop, task_queue):
    db, (settings, extra) = sqlite_db, shop
    settings.aftersales_sla = {"repair": 120}
    c, handle = await _quoted_repair(db, settings, ts_env, task_queue)
    async with worker(ts_env, db, settings, task_queue, extra):
        await act(handle, "approve")
        await wait_state(handle, "awaiting_item")
        await ts_env.sleep(timedelta(hours=5))  # the customer takes their time: the clock is stopped
        view = await handle.query(RmaCaseWorkflow.view)
        assert view.paused and not view.breached and view.sla_left_s > 0
        await act(handle, "receive")
        await ts_env.sleep(timedelta(hours=3))

        async def breached():
            async with db.read_sessionmaker() as s:
                return await s.scalar(
                    select(ExceptionAlert).where(ExceptionAlert.key == f"{handle.id}:breach")
                )

        alert = await eventually(breached)
        await handle.terminate("test over")
    row, trail = await case_row(db, c.id)
    assert alert.kind == "aftersales_sla_breach" and alert.branch_id == row.branch_id
    assert row.breached and ("sla_breach", None) in trail
    async with db.read_sessionmaker() as s:
        assert aftersales.sla_status(row, row.due_at).status == "breached"
        assert await s.scalar(select(func.count()).select_from(RmaEvent).where(RmaEvent.case_id == c.id)) >= 4


async def test_cancel_voids_the_unused_return_label_and_is_refused_once_repair_starts(
    ts_env, sqlite_db, shop, task_queue
):
    db, (settings, real) = sqlite_db, shop
    extra = {"payments": real["payments"], "carrier": CrashOnce(real["carrier"], "void_label")}
    _b, _cust, _p, _order, line = await paid_delivered_order(db, settings, real["payments"])
    c, handle = await open_case(
        db, settings, ts_env, task_queue, kind="repair", reason="Dead", order_line_id=line.id
    )
    _c2, handle2 = await open_case(
        db, settings, ts_env, task_queue, kind="repair", reason="Dead again", order_line_id=line.id
    )
    async with worker(ts_env, db, settings, task_queue, extra):
        await act(handle, "approve")
        await wait_state(handle, "awaiting_item")
        await act(handle, "cancel", note="Customer fixed it")
        assert await asyncio.wait_for(handle.result(), 60) == "cancelled"
        await act(handle2, "approve")
        await act(handle2, "receive")
        await act(handle2, "diagnose", diagnosis="Fuse")
        await wait_state(handle2, "in_repair")
        await refused(handle2, "cancel", "not possible now")
        await handle2.terminate("test over")
    assert extra["carrier"].calls == {"void_label": 2}  # voided (once more after the crash)
    row, trail = await case_row(db, c.id)
    assert row.outcome == "cancelled" and row.closed_at and ("cancel", "cancelled") in trail


async def test_the_turnaround_clock_stands_still_while_the_branch_is_closed(
    ts_env, sqlite_db, shop, task_queue, monkeypatch
):
    """The case clock counts the branch calendar's working time: a 2-hour target set when the
    branch is closed for two days breaches 2 hours after it opens, not 2 hours after opening."""
    from datetime import UTC, datetime, time

    from backroom.branches import service as branches

    db, (settings, extra) = sqlite_db, shop
    settings.aftersales_sla = {"repair": 120}
    now = await ts_env.get_current_time()
    # Earlier tests have skipped the test server's clock years ahead: the case opens on that
    # clock, as in production, where the database and the workflow read the same time.
    monkeypatch.setattr(aftersales, "utcnow", lambda: now)
    day = (now + timedelta(days=2)).date()
    opens = datetime.combine(day, time(), UTC)
    async with db.sessionmaker.begin() as s:
        branch = await create_branch(s)
        await branches.set_calendar(
            s, actor=TEST_ACTOR, branch_id=branch.id, hours={day.weekday(): (0, 24 * 60)}, holidays={}
        )
        customer = await create_customer(s, branch=branch)
        product = await warranted_product(s, months=0)
        c = await aftersales.open_case(
            s,
            actor=TEST_ACTOR,
            settings=settings,
            data=CaseCreate(kind="repair", reason="Dead", customer_id=customer.id, product_id=product.id),
        )
        inp = aftersales.workflow_input(c, settings, await branches.work_calendar(s, branch.id))
    assert inp.calendar.hours == {day.weekday(): (0, 1440)}
    handle = await ts_env.client.start_workflow(
        RmaCaseWorkflow.run, inp, id=f"{c.workflow_id}-{uniq()}", task_queue=task_queue
    )

    async def breached():
        async with db.read_sessionmaker() as s:
            return await s.scalar(select(ExceptionAlert).where(ExceptionAlert.key == f"{handle.id}:breach"))

    async with worker(ts_env, db, settings, task_queue, extra):
        await ts_env.sleep(opens - now - timedelta(minutes=5))  # closed until then: nothing used
        await ts_env.sleep(timedelta(hours=1, minutes=55))  # 1 h 50 min of working time
        await handle.query(RmaCaseWorkflow.view)  # the workflow has caught up with the clock
        assert await breached() is None and not (await case_row(db, c.id))[0].breached
        await ts_env.sleep(timedelta(minutes=15))
        alert = await eventually(breached)
        await handle.terminate("test over")
    assert alert.kind == "aftersales_sla_breach"
    row, _ = await case_row(db, c.id)
    assert row.breached and row.due_at == opens + timedelta(hours=2)
