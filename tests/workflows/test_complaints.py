"""ComplaintWorkflow on the time-skipping server: the SLA ladder, pausing, reopening."""

from sqlalchemy import select

from backroom.complaints import service as complaints
from backroom.complaints.flow import ComplaintInput, Resolution
from backroom.complaints.models import Complaint, ComplaintEvent
from backroom.notifications.models import Notification
from tests.helpers import TEST_ACTOR, create_customer, decide, eventually, running_worker, staff
from workflows.complaints import ComplaintWorkflow

SLA = {"high": (60, 240)}


async def _start(db, ts_env, task_queue, people, reopen_minutes=60, calendar=None):
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
        c = await complaints.log_complaint(
            s,
            actor=TEST_ACTOR,
            customer_id=cust.id,
            channel="phone",
            category="damaged",
            severity="high",
            description="Broken lid",
            sla=SLA,
        )
    handle = await ts_env.client.start_workflow(
        ComplaintWorkflow.run,
        ComplaintInput(
            complaint_id=c.id,
            branch_id=c.branch_id,
            title=f"complaint #{c.id}",
            first_response_minutes=60,
            resolution_minutes=240,
            reopen_window_minutes=reopen_minutes,
            calendar=calendar,
        ),
        id=f"complaint-{c.id}",
        task_queue=task_queue,
    )
    return c.id, handle


async def _row(db, cid):
    async with db.sessionmaker() as s:
        return await s.get(Complaint, cid)


async def _breaches(db, cid):
    async with db.sessionmaker() as s:
        return list(
            (
                await s.execute(
                    select(ComplaintEvent)
                    .where(ComplaintEvent.complaint_id == cid, ComplaintEvent.kind == "breach")
                    .order_by(ComplaintEvent.id)
                )
            ).scalars()
        )


async def test_sla_ladder_escalates_at_each_level(sqlite_db, settings, ts_env, task_queue):
    db, people = sqlite_db, await staff(sqlite_db)
    async with running_worker(ts_env, settings, db, task_queue) as handles:
        cid, handle = await _start(db, ts_env, task_queue, people)
        handles.append(handle)
        await ts_env.sleep(59 * 60)
        assert (await _row(db, cid)).level == "agent"
        await ts_env.sleep(2 * 60)  # first response missed at 60 min
        row = await eventually(lambda: _level(db, cid, "supervisor"))
        assert row.first_response_breached and not row.resolution_breached
        await ts_env.sleep(180 * 60)  # resolution missed at 240 min
        row = await eventually(lambda: _level(db, cid, "manager"))
        assert row.resolution_breached
        events = await _breaches(db, cid)
        assert [e.level for e in events] == ["supervisor", "manager"]
        async with db.sessionmaker() as s:
            to = set(
                (
                    await s.execute(
                        select(Notification.to_user_id).where(
                            Notification.kind == "complaint.escalated",
                            Notification.dedupe_key.like(f"complaint-{cid}:%"),
                        )
                    )
                ).scalars()
            )
        assert to == {people["supervisor"].id, people["manager"].id}
        assert (await handle.query(ComplaintWorkflow.state)).level == "manager"


async def _level(db, cid, level):
    row = await _row(db, cid)
    return row if row.level == level else None


async def test_clocks_pause_while_awaiting_customer(sqlite_db, settings, ts_env, task_queue):
    db, people = sqlite_db, await staff(sqlite_db, roles=("agent", "supervisor"))
    async with running_worker(ts_env, settings, db, task_queue) as handles:
        cid, handle = await _start(db, ts_env, task_queue, people)
        handles.append(handle)
        await ts_env.sleep(30 * 60)
        await handle.signal(ComplaintWorkflow.awaiting_customer)
        await ts_env.sleep(10 * 3600)  # long wait on the customer: no clock runs
        assert await _breaches(db, cid) == []
        await handle.signal(ComplaintWorkflow.customer_replied)
        await ts_env.sleep(25 * 60)  # 55 of 60 first-response minutes used
        assert await _breaches(db, cid) == []
        await ts_env.sleep(6 * 60)
        events = await eventually(lambda: _breaches(db, cid))
        assert len(events) == 1 and "first response" in events[0].detail


async def test_reopen_resumes_the_same_workflow(sqlite_db, settings, ts_env, task_queue, save_history):
    db, people = sqlite_db, await staff(sqlite_db, roles=("agent", "supervisor", "manager"))
    async with running_worker(ts_env, settings, db, task_queue) as handles:
        cid, handle = await _start(db, ts_env, task_queue, people, reopen_minutes=60)
        handles.append(handle)
        async with db.sessionmaker.begin() as s:
            await complaints.resolve(s, actor=TEST_ACTOR, complaint_id=cid, outcome="Replaced")
        await handle.signal(ComplaintWorkflow.resolved, Resolution())
        await ts_env.sleep(20 * 60)
        async with db.sessionmaker.begin() as s:
            await complaints.reopen(
                s, actor=TEST_ACTOR, complaint_id=cid, reason="Still broken", window_minutes=60
            )
        await handle.signal(ComplaintWorkflow.reopen)
        await ts_env.sleep(241 * 60)  # the fresh resolution clock runs out
        row = await eventually(lambda: _level(db, cid, "supervisor"))
        assert row.resolution_breached and row.status == "open"
        async with db.sessionmaker.begin() as s:
            await complaints.resolve(s, actor=TEST_ACTOR, complaint_id=cid, outcome="Refunded")
        await handle.signal(ComplaintWorkflow.resolved, Resolution())
        await ts_env.sleep(61 * 60)
        assert await handle.result() == "closed"
        await save_history(handle, "complaint_reopened_then_closed")
        assert (await _row(db, cid)).status == "closed"
        async with db.sessionmaker() as s:
            kinds = set(
                (
                    await s.execute(
                        select(Notification.dedupe_key).where(
                            Notification.dedupe_key.like(f"complaint-{cid}:satisfaction:%")
                        )
                    )
                ).scalars()
            )
        assert kinds == {f"complaint-{cid}:satisfaction:1", f"complaint-{cid}:satisfaction:2"}


async def test_refund_compensation_goes_through_the_approval_gate(
    sqlite_db, settings, ts_env, task_queue, save_history
):
    from backroom.approvals.models import ApprovalRequest
    from backroom.auth import service as auth
    from policies import load_enforcer

    db, people = sqlite_db, await staff(sqlite_db, roles=("agent", "supervisor"))
    async with running_worker(ts_env, settings, db, task_queue) as handles:
        cid, handle = await _start(db, ts_env, task_queue, people)
        handles.append(handle)
        async with db.sessionmaker.begin() as s:
            await complaints.resolve(
                s,
                actor=TEST_ACTOR,
                complaint_id=cid,
                outcome="Refund agreed",
                compensation="refund",
                amount_minor=2_500,
            )
        await handle.signal(
            ComplaintWorkflow.resolved,
            Resolution(refund_minor=2_500, currency="USD", requested_by_id=people["agent"].id),
        )

        async def row():
            async with db.read_sessionmaker() as s:
                return await s.scalar(select(ApprovalRequest).where(ApprovalRequest.workflow_id == handle.id))

        req = await eventually(row)
        assert (req.function, req.roles, req.amount_minor) == ("complaints", "supervisor", 2_500)
        async with db.read_sessionmaker() as s:
            sup = await auth.principal_for(s, people["supervisor"], load_enforcer())
        assert (await decide(db, ts_env.client, req, sup, approve=True, reason=None)).status == "approved"

        async def refund_event():
            async with db.read_sessionmaker() as s:
                return await s.scalar(
                    select(ComplaintEvent.kind).where(
                        ComplaintEvent.complaint_id == cid, ComplaintEvent.kind == "refund_approved"
                    )
                )

        assert await eventually(refund_event) == "refund_approved"
        await save_history(handle, "complaint_refund_approved_running")


async def test_first_response_clock_counts_only_the_branch_working_time(
    sqlite_db, settings, ts_env, task_queue
):
    """Logged while the branch is closed: the 60-minute first response is missed 60 working
    minutes after it opens, not 60 minutes after logging."""
    from datetime import UTC, datetime, time, timedelta

    from backroom.branches import service as branches

    db, people = sqlite_db, await staff(sqlite_db, roles=("agent", "supervisor"))
    now = await ts_env.get_current_time()
    day = (now + timedelta(days=2)).date()
    opens = datetime.combine(day, time(), UTC)
    async with db.sessionmaker.begin() as s:
        await branches.set_calendar(
            s,
            actor=TEST_ACTOR,
            branch_id=people["branch"].id,
            hours={day.weekday(): (9 * 60, 17 * 60)},
            holidays={},
        )
        cal = await branches.work_calendar(s, people["branch"].id)
    async with running_worker(ts_env, settings, db, task_queue) as handles:
        cid, handle = await _start(db, ts_env, task_queue, people, calendar=cal)
        handles.append(handle)
        row = await _row(db, cid)
        assert row.first_response_due_at == opens + timedelta(hours=10)  # 09:00 + 60 working minutes
        await ts_env.sleep(opens + timedelta(hours=9, minutes=55) - now)
        await handle.query(ComplaintWorkflow.state)
        assert not await _breaches(db, cid) and (await _row(db, cid)).level == "agent"
        await ts_env.sleep(timedelta(minutes=10))
        row = await eventually(lambda: _level(db, cid, "supervisor"))
        assert row.first_response_breached and not row.resolution_breached
