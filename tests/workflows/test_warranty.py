"""WarrantyWorkflow on the time-skipping server: notices at 30 and 7 days, expiry, and an
extension that moves the timers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backroom.notifications.models import Notification
from backroom.warranty import service as warranty
from backroom.warranty.flow import WarrantyChange
from backroom.warranty.models import Warranty, WarrantyEvent
from tests.aftersales_support import registered
from tests.custops_helpers import running_worker
from tests.helpers import uniq
from workflows.warranty import WarrantyWorkflow


async def _now(ts_env):
    """The test server's clock: it runs ahead of the wall clock once earlier tests skipped time."""
    return await ts_env.get_current_time()


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
        assert await handle.result() == "expired"
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
        assert await handle.result() == "expired"
    _row, kinds, mails = await _facts(db, w.id)
    # 15 days left at registration: the late 30-day notice at once, the 7-day one on time;
    # neither is sent without consent to e-mail.
    assert kinds == ["registered", "notice_30_skipped", "notice_7_skipped", "expired"] and mails == []


async def test_extension_update_moves_the_timers(ts_env, sqlite_db, settings, task_queue):
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        *_, w = await registered(s, left=timedelta(days=20), now=await _now(ts_env))
    old_expiry = w.expires_at
    async with running_worker(ts_env, settings, db, task_queue) as handles:
        handle = await _start(ts_env, w, task_queue)
        handles.append(handle)
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
        assert await handle.result() == "expired"
    row, kinds, mails = await _facts(db, w.id)
    assert row.expires_at == warranty.add_months(old_expiry, 12) and row.extended_months == 12
    # The first 30-day notice (old date) went out at once; the new date got both of its own.
    assert kinds == ["registered", "notice_30", "extend", "notice_30", "notice_7", "expired"]
    assert len(mails) == 3
