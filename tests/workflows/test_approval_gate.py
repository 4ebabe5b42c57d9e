"""The approval gate's guarantees with its steps as local activities: of decisions sent at once
exactly one is applied, and a withdrawn request cannot be decided. On the time-skipping server,
with the real gate activities writing the inbox projection."""

from __future__ import annotations

import asyncio
from contextlib import suppress

import pytest
from sqlalchemy import func, select
from temporalio import workflow
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.approvals import ApprovalActivities
from backroom.approvals.models import ApprovalRequest
from backroom.approvals.schemas import Decision
from backroom.audit.models import AuditEvent
from tests.helpers import create_branch, create_user, eventually, uniq
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


async def test_of_decisions_sent_at_once_exactly_one_is_applied(probe):
    db, handle, row, fins, inbox_row = probe
    sent = await asyncio.gather(
        *(
            handle.execute_update(GateProbe.decide, decision(row, f, approve=i != 1))
            for i, f in enumerate(fins)
        ),
        return_exceptions=True,
    )
    won = [o for o in sent if not isinstance(o, BaseException)]
    assert len(won) == 1, sent
    assert all(isinstance(e, WorkflowUpdateFailedError) for e in sent if isinstance(e, BaseException)), sent
    closed = await inbox_row()
    assert closed.status == won[0].status and closed.decided_by_id == won[0].decided_by_id
    async with db.read_sessionmaker() as s:
        closes = await s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.entity_type == "approval", AuditEvent.entity_id == str(row.id))
            .where(AuditEvent.action.in_(["approval.approved", "approval.rejected"]))
        )
    assert closes == 1
    await handle.signal(GateProbe.finish)
    assert await handle.result() == won[0].status


async def test_a_withdrawn_request_cannot_be_decided(probe):
    _db, handle, row, fins, inbox_row = probe
    await handle.signal(GateProbe.withdraw)

    async def withdrawn():
        r = await inbox_row()
        return r if r.status == "cancelled" else None

    await eventually(withdrawn)
    with pytest.raises((WorkflowUpdateFailedError, RPCError)):
        await handle.execute_update(GateProbe.decide, decision(row, fins[0]))
    assert (await inbox_row()).decided_by_id is None
    await handle.signal(GateProbe.finish)
    assert await handle.result() == "cancelled"
