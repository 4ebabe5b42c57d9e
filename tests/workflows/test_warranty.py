"""WarrantyWorkflow on the time-skipping server: notices at 30 and 7 days, expiry, and an
extension that moves the timers."""

from __future__ import annotations

from datetime import timedelta

import pytest_asyncio
from sqlalchemy import select
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from backroom.notifications.models import Notification
from backroom.warranty import service as warranty
from backroom.warranty.flow import WarrantyChange
from backroom.warranty.models import Warranty, WarrantyEvent
from tests.conftest import binary
from tests.helpers import eventually, registered, running_worker, uniq
from workflows.warranty import WarrantyWorkflow


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def ts_env():
    """A time-skipping server of this module's own: workflows other tests leave behind on the
    shared one can stop it from skipping time, and these tests skip months."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=pydantic_data_converter
    )
    yield env
    await env.shutdown()


async def _now(ts_env):
    """The test server's clock: it runs ahead of the wall clock once earlier tests skipped time."""
    return await ts_env.get_current_time()


async def _expired(ts_env, handle, days):
    """Skip the test server's clock past expiry explicitly: a workflow another test left
    behind can stop the server from skipping time by itself."""
    await ts_env.sleep(timedelta(days=days))
    assert await handle.result() == "expired"


async def _start(ts_env, w, task_queue):
    return await ts_env.client.start_workflow(
        WarrantyWorkflow.run,
        warranty.workflow_input(w),
        id=f"{w.workflow_id}-{uniq()}",
        task_queue=task_queue,
    )


async def _facts(db, wid):
    async with db.read_sessionmaker() as s:
        w = await s.get(Warranty, wid)
        kinds = [
            e.kind for e in await s.scalars(select(WarrantyEvent).where(WarrantyEvent.warranty_id == wid))
        ]
        mails = list(
            await s.scalars(
                select(Notification).where(
                    Notification.kind == "warranty.expiry_notice",
                    Notification.to_customer_id == w.customer_id,
                )
            )
        )
    return w, kinds, mails


async def test_notices_at_30_and_7_days_then_expired(ts_env, sqlite_db, settings, task_queue):
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        # 12 months bought ~10.5 months ago: about 45 days left, so both notices are ahead.
        _b, customer, product, w = await registered(s, left=timedelta(days=45), now=await _now(ts_env))
    async with running_worker(ts_env, settings, db, task_queue) as handles:
        handle = await _start(ts_env, w, task_queue)
        handles.append(handle)
        await _expired(ts_env, handle, 46)
    row, kinds, mails = await _facts(db, w.id)
    assert row.status == "expired"
    assert kinds == ["registered", "notice_30", "notice_7", "expired"]
    assert sorted(m.subject for m in mails) == sorted(
        [
            f"Your warranty for {product.name} ends in 30 days",
            f"Your warranty for {product.name} ends in 7 days",
        ]
    )
    assert all(m.to_address == customer.email for m in mails)


async def test_without_consent_no_notice_is_sent(ts_env, sqlite_db, settings, task_queue):
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        *_, w = await registered(s, left=timedelta(days=15), now=await _now(ts_env), consent=False)
    async with running_worker(ts_env, settings, db, task_queue) as handles:
        handle = await _start(ts_env, w, task_queue)
        handles.append(handle)
        await _expired(ts_env, handle, 16)
    _row, kinds, mails = await _facts(db, w.id)
    # 15 days left at registration: the late 30-day notice at once, the 7-day one on time;
    # neither is sent without consent to e-mail.
    assert kinds == ["registered", "notice_30_skipped", "notice_7_skipped", "expired"] and mails == []


async def test_extension_update_moves_the_timers(ts_env, sqlite_db, settings, task_queue, save_history):
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        *_, w = await registered(s, left=timedelta(days=20), now=await _now(ts_env))
    old_expiry = w.expires_at
    async with running_worker(ts_env, settings, db, task_queue) as handles:
        handle = await _start(ts_env, w, task_queue)
        handles.append(handle)

        async def first_notice():
            return "notice_30" in (await _facts(db, w.id))[1]

        await eventually(first_notice)  # 20 days left: the (late) 30-day notice goes at once
        st = await handle.execute_update(
            WarrantyWorkflow.change,
            WarrantyChange(key=uniq("ext"), kind="extend", months=12, user_name="Clerk Kim"),
        )
        assert st.expires_at == warranty.add_months(old_expiry, 12) and st.status == "active"
        # Refused at once by the validator, nothing applied.
        try:
            await handle.execute_update(WarrantyWorkflow.change, WarrantyChange(key=uniq(), kind="extend"))
            raise AssertionError("an extension without months was accepted")
        except Exception as exc:  # WorkflowUpdateFailedError
            assert "months" in str(exc.__cause__ or exc)
        await _expired(ts_env, handle, 400)
        await save_history(handle, "warranty_extended_notified_expired")
    row, kinds, mails = await _facts(db, w.id)
    assert row.expires_at == warranty.add_months(old_expiry, 12) and row.extended_months == 12
    # The first 30-day notice (old date) went out at once; the new date got both of its own.
    assert kinds == ["registered", "notice_30", "extend", "notice_30", "notice_7", "expired"]
    assert len(mails) == 3


async def test_transfer_then_paid_extension_signal_notices_go_to_the_new_owner(
    ts_env, sqlite_db, settings, task_queue
):
    from tests.helpers import create_customer

    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        branch, first_owner, _p, w = await registered(s, left=timedelta(days=45), now=await _now(ts_env))
        new_owner = await create_customer(s, branch=branch, consent_email=True)
    old_expiry = w.expires_at
    async with running_worker(ts_env, settings, db, task_queue) as handles:
        handle = await _start(ts_env, w, task_queue)
        handles.append(handle)
        st = await handle.execute_update(
            WarrantyWorkflow.change, WarrantyChange(key=uniq("tr"), kind="transfer", customer_id=new_owner.id)
        )
        assert st.status == "active" and st.expires_at == old_expiry
        # An extended warranty paid online arrives through the outbox as the `apply` signal.
        await handle.signal(WarrantyWorkflow.apply, WarrantyChange(key=uniq("paid"), kind="extend", months=1))

        async def extended():
            return (await handle.query(WarrantyWorkflow.state)).expires_at == warranty.add_months(
                old_expiry, 1
            )

        await eventually(extended)
        await _expired(ts_env, handle, 80)
    async with db.read_sessionmaker() as s:
        mails = list(
            await s.scalars(
                select(Notification).where(
                    Notification.kind == "warranty.expiry_notice",
                    Notification.dedupe_key.like(f"warranty-{w.id}:%"),
                )
            )
        )
    assert {m.to_customer_id for m in mails} == {new_owner.id} and len(mails) == 2
    row, kinds, _ = await _facts(db, w.id)
    assert row.customer_id == new_owner.id and kinds[:3] == ["registered", "transfer", "extend"]
    assert first_owner.id != new_owner.id
