"""Complaint use cases queue their workflow start and signals in the same transaction as the
record change, and a refused change queues nothing."""

import pytest
from sqlalchemy import select

from backroom.complaints import flow
from backroom.complaints import service as complaints
from backroom.complaints.errors import ComplaintStateError
from backroom.complaints.schemas import ComplaintCreate
from backroom.starts import service as starts
from backroom.starts.models import WorkflowSignal, WorkflowStart
from tests.custops_helpers import create_customer, staff
from tests.helpers import TEST_ACTOR

SLA = {"high": (60, 240)}


async def _signals(session, workflow_id: str) -> list[tuple[str, dict | None]]:
    rows = await session.scalars(
        select(WorkflowSignal).where(WorkflowSignal.workflow_id == workflow_id).order_by(WorkflowSignal.id)
    )
    return [(r.signal, r.args) for r in rows]


async def test_each_transition_queues_its_signal_once(sqlite_db):
    db = sqlite_db
    people = await staff(db, roles=("agent",))
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
        c = await complaints.open_complaint(
            s,
            data=ComplaintCreate(
                customer_id=cust.id, channel="phone", category="damaged", severity="high", description="Bent"
            ),
            actor=TEST_ACTOR,
            sla=SLA,
            reopen_minutes=90,
        )
        queued = starts.queued(s)
    assert [r.workflow_id for r in queued] == [flow.complaint_workflow_id(c.id)]
    async with db.sessionmaker() as s:
        start = await s.scalar(select(WorkflowStart).where(WorkflowStart.workflow_id == c.workflow_id))
    assert start.workflow_type == flow.COMPLAINT_WORKFLOW
    assert start.args["reopen_window_minutes"] == 90 and start.args["resolution_minutes"] == 240
    assert start.customer_id == cust.id

    async with db.sessionmaker.begin() as s:
        await complaints.respond(s, actor=TEST_ACTOR, complaint_id=c.id, message="Sorry")
        await complaints.respond(s, actor=TEST_ACTOR, complaint_id=c.id, message="A second reply")
        await complaints.await_customer(s, actor=TEST_ACTOR, complaint_id=c.id)
        await complaints.customer_replied(s, actor=TEST_ACTOR, complaint_id=c.id)
        await complaints.resolve(
            s,
            actor=TEST_ACTOR,
            complaint_id=c.id,
            outcome="Refunded",
            compensation="refund",
            amount_minor=700,
        )
        await complaints.reopen(
            s, actor=TEST_ACTOR, complaint_id=c.id, reason="Still bent", window_minutes=60
        )
    async with db.sessionmaker() as s:
        sent = await _signals(s, c.workflow_id)
    assert [name for name, _ in sent] == [
        flow.RESPONDED,  # the first reply only
        flow.AWAITING_CUSTOMER,
        flow.CUSTOMER_REPLIED,
        flow.RESOLVED,
        flow.REOPEN,
    ]
    resolution = flow.Resolution.model_validate(sent[3][1])
    assert resolution.refund_minor == 700 and resolution.currency == "USD"
    assert resolution.requested_by_name == TEST_ACTOR.name

    with pytest.raises(ComplaintStateError):
        async with db.sessionmaker.begin() as s:
            await complaints.customer_replied(s, actor=TEST_ACTOR, complaint_id=c.id)
    async with db.sessionmaker() as s:
        assert len(await _signals(s, c.workflow_id)) == 5
