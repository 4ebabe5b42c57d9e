"""The approval gate's guarantees, decisions recorded by the inbox's use case and told to the
workflow by signal: of decisions sent at once exactly one is recorded, a withdrawn request cannot
be decided, and a decision that commits before the gate expires or is withdrawn is the outcome
(the gate adopts it from the database). On the time-skipping server, with the real gate
activities writing the inbox rows."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import timedelta

import pytest
from sqlalchemy import select
from temporalio import workflow
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.approvals import ApprovalActivities
from backroom.approvals import service as approvals
from backroom.approvals.errors import ApprovalNotOpen
from backroom.approvals.models import ApprovalRequest
from backroom.approvals.schemas import Decision
from backroom.audit.models import AuditEvent
from backroom.starts import service as starts
from tests.helpers import create_branch, create_user, decide, eventually, principal_of, uniq
from workflows.approval import ApprovalAsk, ApprovalGate, ApprovalLevel


@workflow.defn(sandboxed=False)
class GateProbe(ApprovalGate):
    """Asks once; can be told to withdraw; stays open until told to finish."""

    def __init__(self) -> None:
        self._finish = False

    @workflow.run
    async def run(self, branch_id: int, requester_id: int) -> str:
        outcome = await self.request_approval(
            ApprovalAsk(
                key="probe",
                branch_id=branch_id,
                subject_type="probe",
                subject_id="1",
                title="Probe",
                requested_by_id=requester_id,
                function="credit",
                levels=[ApprovalLevel(role="finance", hours=1)],
            )
        )
        await workflow.wait_condition(lambda: self._finish)
        return outcome.status

    @workflow.signal
    def withdraw(self) -> None:
        self.cancel_approval("no longer needed")

    @workflow.signal
    def finish(self) -> None:
        self._finish = True


@pytest.fixture
async def probe(ts_env, sqlite_db, task_queue):
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        clerk = await create_user(s, grants=[("clerk", b.id)])
        fins = [await create_user(s, grants=[("finance", b.id)]) for _ in range(3)]
    acts = ApprovalActivities(db.sessionmaker)
    async with Worker(
        ts_env.client,
        task_queue=task_queue,
        workflows=[GateProbe],
        activities=[acts.open, acts.escalate, acts.close],
    ):
        handle = await ts_env.client.start_workflow(
            GateProbe.run, args=[b.id, clerk.id], id=uniq("probe-"), task_queue=task_queue
        )

        async def inbox_row():
            async with db.read_sessionmaker() as s:
                return await s.scalar(select(ApprovalRequest).where(ApprovalRequest.workflow_id == handle.id))

        row = await eventually(inbox_row)
        yield db, handle, row, fins, inbox_row
        with suppress(RPCError):  # finished already in the tests that tell it to
            await handle.terminate("test over")


def decision(row, user, approve=True) -> Decision:
    return Decision(
        request_id=row.id, approve=approve, reason=None if approve else "no", user_id=user.id, user_name="F"
    )


async def closes(db, row) -> list[str]:
    """The audited closes of the request, oldest first."""
    async with db.read_sessionmaker() as s:
        rows = await s.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.entity_type == "approval", AuditEvent.entity_id == str(row.id))
            .where(AuditEvent.action != "approval.open")
            .order_by(AuditEvent.id)
        )
        return list(rows)


async def record_untold(db, row, user, *, approve=True):
    """Record a decision and do not tell the workflow (Temporal unreachable when the API's
    dispatch ran: the signal waits in the outbox)."""
    p = await principal_of(db, user)
    async with db.sessionmaker() as s:
        async with s.begin():
            outcome = await approvals.decide(
                s, request_id=row.id, p=p, approve=approve, reason=None if approve else "no"
            )
        assert len(starts.take_later(s)) == 1  # the signal, left undelivered
    return outcome


async def test_of_decisions_sent_at_once_exactly_one_is_recorded(probe, ts_env):
    db, handle, row, fins, inbox_row = probe
    people = [await principal_of(db, f) for f in fins]
    sent = await asyncio.gather(
        *(decide(db, ts_env.client, row, p, approve=i != 1, reason="no") for i, p in enumerate(people)),
        return_exceptions=True,
    )
    won = [o for o in sent if not isinstance(o, BaseException)]
    assert len(won) == 1, sent
    assert all(isinstance(e, ApprovalNotOpen) for e in sent if isinstance(e, BaseException)), sent
    closed = await inbox_row()
    assert closed.status == won[0].status and closed.decided_by_id == won[0].decided_by_id
    assert await closes(db, row) == [f"approval.{won[0].status}"]
    await handle.signal(GateProbe.finish)
    assert await handle.result() == won[0].status
    assert await closes(db, row) == [f"approval.{won[0].status}"]  # the gate did not close it again


async def test_a_withdrawn_request_cannot_be_decided(probe, ts_env):
    db, handle, row, fins, inbox_row = probe
    await handle.signal(GateProbe.withdraw)

    async def withdrawn():
        r = await inbox_row()
        return r if r.status == "cancelled" else None

    await eventually(withdrawn)
    with pytest.raises(ApprovalNotOpen):
        await decide(db, ts_env.client, row, await principal_of(db, fins[0]))
    assert (await inbox_row()).decided_by_id is None
    await handle.signal(GateProbe.finish)
    assert await handle.result() == "cancelled"


async def test_a_decision_recorded_before_the_deadline_wins_over_the_expiry(probe, ts_env):
    db, handle, row, fins, inbox_row = probe
    await record_untold(db, row, fins[0])
    await ts_env.sleep(timedelta(hours=2))  # the gate's one level (1 h) runs out untold
    await handle.signal(GateProbe.finish)
    assert await handle.result() == "approved"
    closed = await inbox_row()
    assert (closed.status, closed.decided_by_id) == ("approved", fins[0].id)
    assert await closes(db, row) == ["approval.approved"]


async def test_a_decision_recorded_before_a_withdrawal_is_the_outcome(probe, ts_env):
    db, handle, row, fins, _inbox_row = probe
    await record_untold(db, row, fins[1], approve=False)
    await handle.signal(GateProbe.withdraw)
    await handle.signal(GateProbe.finish)
    assert await handle.result() == "rejected"
    assert await closes(db, row) == ["approval.rejected"]


async def test_a_decision_told_twice_is_taken_once(probe, ts_env):
    db, handle, row, fins, _inbox_row = probe
    outcome = await decide(db, ts_env.client, row, await principal_of(db, fins[2]))
    told = Decision(request_id=row.id, approve=False, reason="late", user_id=fins[0].id, user_name="F")
    await handle.signal(approvals.DECIDED_SIGNAL, told)  # another (stale) message
    await handle.signal(GateProbe.finish)
    assert outcome.status == "approved" and await handle.result() == "approved"
    assert await closes(db, row) == ["approval.approved"]


async def test_older_callers_update_still_decides(probe):
    """Runs that were sent the `decide` Update before decisions were recorded by the API."""
    db, handle, row, fins, inbox_row = probe
    outcome = await handle.execute_update(GateProbe.decide, decision(row, fins[0]))
    assert outcome.status == "approved" and (await inbox_row()).decided_by_id == fins[0].id
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(GateProbe.decide, decision(row, fins[1]))
    await handle.signal(GateProbe.finish)
    assert await handle.result() == "approved"
    assert await closes(db, row) == ["approval.approved"]
