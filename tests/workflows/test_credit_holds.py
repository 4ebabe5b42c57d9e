"""CreditHoldWorkflow and the overdue sweep on the time-skipping server."""

from datetime import timedelta

from sqlalchemy import select

from backroom.approvals.models import ApprovalRequest
from backroom.auth import service as auth
from backroom.credit import ledger
from backroom.credit.flow import CreditHoldInput, SweepInput
from backroom.credit.models import CreditAccount, CreditHold
from backroom.db.base import utcnow
from policies import load_enforcer
from tests.helpers import TEST_ACTOR, create_customer, decide, eventually, running_worker, staff, uniq
from workflows.credit_holds import CreditHoldWorkflow, CreditOverdueSweepWorkflow


async def _held_sale(db, people, *, limit=10_000, balance=9_000, amount=5_000):
    """A customer with `balance` owed of `limit`, and a held sale of `amount`."""
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"], credit_limit_minor=limit)
        acct = await ledger.open_account(s, actor=TEST_ACTOR, customer_id=cust.id)
        if balance:
            await ledger.post_entry(
                s,
                actor=TEST_ACTOR,
                account_id=acct.id,
                kind="sale",
                amount_minor=balance,
                currency="USD",
                reference=uniq("inv"),
            )
        res = await ledger.credit_sale(
            s,
            actor=TEST_ACTOR,
            customer_id=cust.id,
            amount_minor=amount,
            currency="USD",
            reference=uniq("pos"),
        )
    assert res.status == "held"
    return acct.id, res.hold


def _input(hold, people, **kw):
    return CreditHoldInput(
        hold_id=hold.id,
        branch_id=hold.branch_id,
        customer_id=hold.customer_id,
        title=f"Credit sale {hold.reference}",
        reason="Above available credit",
        amount_minor=hold.amount_minor,
        currency="USD",
        finance_hours=kw.get("finance", 24),
        manager_hours=kw.get("manager", 24),
    )


async def _status(db, hold_id):
    async with db.sessionmaker() as s:
        return (await s.get(CreditHold, hold_id)).status


async def test_hold_released_by_payment(sqlite_db, settings, ts_env, task_queue):
    db, people = sqlite_db, await staff(sqlite_db, roles=("finance", "manager"))
    acct_id, hold = await _held_sale(db, people)
    async with running_worker(ts_env, settings, db, task_queue) as handles:
        h = await ts_env.client.start_workflow(
            CreditHoldWorkflow.run, _input(hold, people), id=hold.workflow_id, task_queue=task_queue
        )
        handles.append(h)
        async with db.sessionmaker.begin() as s:  # too small a payment: still held
            await ledger.post_entry(
                s,
                actor=TEST_ACTOR,
                account_id=acct_id,
                kind="payment",
                amount_minor=1_000,
                currency="USD",
                reference=uniq("pay"),
            )
        await h.signal(CreditHoldWorkflow.payment_posted)
        await ts_env.sleep(3600)
        assert await _status(db, hold.id) == "pending"
        async with db.sessionmaker.begin() as s:
            await ledger.post_entry(
                s,
                actor=TEST_ACTOR,
                account_id=acct_id,
                kind="payment",
                amount_minor=4_000,
                currency="USD",
                reference=uniq("pay"),
            )
        await h.signal(CreditHoldWorkflow.payment_posted)
        assert await h.result() == "posted"
    async with db.sessionmaker() as s:
        v = await ledger.get_view(s, acct_id)
        assert v.balance_minor == 9_000 - 5_000 + 5_000 and v.available_minor == 1_000
        assert (await s.get(CreditHold, hold.id)).resolution == "paid"


async def test_hold_expires_after_both_levels(sqlite_db, settings, ts_env, task_queue):
    db, people = sqlite_db, await staff(sqlite_db, roles=("finance", "manager"))
    acct_id, hold = await _held_sale(db, people)
    async with running_worker(ts_env, settings, db, task_queue) as handles:
        h = await ts_env.client.start_workflow(
            CreditHoldWorkflow.run,
            _input(hold, people, finance=2, manager=1),
            id=hold.workflow_id,
            task_queue=task_queue,
        )
        handles.append(h)
        assert await h.result() == "declined"
    async with db.sessionmaker() as s:
        assert (await s.get(CreditHold, hold.id)).resolution == "expired"
        assert (await ledger.get_view(s, acct_id)).balance_minor == 9_000


async def test_overdue_account_put_on_hold_and_released_when_paid(
    sqlite_db, settings, ts_env, task_queue, save_history
):
    db, people = sqlite_db, await staff(sqlite_db, roles=("finance",))
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"], credit_limit_minor=50_000)
        acct = await ledger.open_account(
            s, actor=TEST_ACTOR, customer_id=cust.id, terms_days=30, grace_days=5
        )
        # Dated in the test server's clock, which may run ahead of the wall clock.
        now = await _server_now(ts_env)
        await ledger.post_entry(
            s,
            actor=TEST_ACTOR,
            account_id=acct.id,
            kind="sale",
            amount_minor=20_000,
            currency="USD",
            reference=uniq("inv"),
            occurred_at=now,
        )
    async with running_worker(ts_env, settings, db, task_queue) as handles:
        h = await ts_env.client.start_workflow(
            CreditOverdueSweepWorkflow.run,
            SweepInput(interval_hours=24),
            id=uniq("sweep-"),
            task_queue=task_queue,
        )
        handles.append(h)
        await ts_env.sleep(34 * 86400)
        assert not await _on_hold(db, acct.id)  # inside terms plus grace
        await ts_env.sleep(3 * 86400)
        await eventually(lambda: _on_hold(db, acct.id))
        async with db.sessionmaker.begin() as s:
            sale = await ledger.credit_sale(
                s,
                actor=TEST_ACTOR,
                customer_id=cust.id,
                amount_minor=100,
                currency="USD",
                reference=uniq("pos"),
            )
            assert sale.status == "held"  # an account on hold sells nothing on credit unapproved
            await ledger.post_entry(
                s,
                actor=TEST_ACTOR,
                account_id=acct.id,
                kind="payment",
                amount_minor=20_000,
                currency="USD",
                reference=uniq("pay"),
                occurred_at=now + timedelta(days=37),
            )
        assert not await _on_hold(db, acct.id)
        await ts_env.sleep(86400)  # the next round releases nothing more; the sweep keeps going
        await save_history(h, "credit_overdue_sweep_running")


async def _on_hold(db, account_id):
    async with db.sessionmaker() as s:
        return (await s.get(CreditAccount, account_id)).on_hold


async def _server_now(env):
    return await env.get_current_time() if hasattr(env, "get_current_time") else utcnow()


async def _inbox_row(db, workflow_id):
    async def found():
        async with db.read_sessionmaker() as s:
            return await s.scalar(select(ApprovalRequest).where(ApprovalRequest.workflow_id == workflow_id))

    return await eventually(found)


async def _principal(db, user):
    async with db.read_sessionmaker() as s:
        return await auth.principal_for(s, user, load_enforcer())


async def test_hold_released_by_finance_approval_through_the_inbox(
    sqlite_db, settings, ts_env, task_queue, save_history
):
    db, people = sqlite_db, await staff(sqlite_db, roles=("finance", "manager", "clerk"))
    acct_id, hold = await _held_sale(db, people)
    async with running_worker(ts_env, settings, db, task_queue) as handles:
        h = await ts_env.client.start_workflow(
            CreditHoldWorkflow.run,
            _input(hold, people).model_copy(update={"requested_by_id": people["clerk"].id}),
            id=hold.workflow_id,
            task_queue=task_queue,
        )
        handles.append(h)
        row = await _inbox_row(db, hold.workflow_id)
        assert (row.status, row.roles, row.function, row.amount_minor) == (
            "pending",
            "finance",
            "credit",
            5_000,
        )
        outcome = await decide(
            db, ts_env.client, row, await _principal(db, people["finance"]), approve=True, reason=None
        )
        assert outcome.status == "approved"
        assert await h.result() == "posted"
        await save_history(h, "credit_hold_approved")
    async with db.sessionmaker() as s:
        v = await ledger.get_view(s, acct_id)
        # Approved above the limit: the only way available credit goes negative.
        assert v.balance_minor == 14_000 and v.available_minor == -4_000 and v.held_minor == 0


async def test_payment_withdraws_the_inbox_request(sqlite_db, settings, ts_env, task_queue):
    db, people = sqlite_db, await staff(sqlite_db, roles=("finance", "manager"))
    acct_id, hold = await _held_sale(db, people)
    async with running_worker(ts_env, settings, db, task_queue) as handles:
        h = await ts_env.client.start_workflow(
            CreditHoldWorkflow.run, _input(hold, people), id=hold.workflow_id, task_queue=task_queue
        )
        handles.append(h)
        await _inbox_row(db, hold.workflow_id)
        async with db.sessionmaker.begin() as s:
            await ledger.post_entry(
                s,
                actor=TEST_ACTOR,
                account_id=acct_id,
                kind="payment",
                amount_minor=9_000,
                currency="USD",
                reference=uniq("pay"),
            )
        await h.signal(CreditHoldWorkflow.payment_posted)
        assert await h.result() == "posted"
    async with db.read_sessionmaker() as s:
        row = await s.scalar(select(ApprovalRequest).where(ApprovalRequest.workflow_id == hold.workflow_id))
        assert row.status == "cancelled"
