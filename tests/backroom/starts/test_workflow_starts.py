"""A record committed while Temporal is unreachable still gets its workflow, exactly once."""

import asyncio
from datetime import timedelta

from sqlalchemy import select

from backroom.approvals.models import ApprovalRequest
from backroom.starts import service as starts
from backroom.starts.models import WorkflowSignal, WorkflowStart
from backroom.starts.service import Outbox
from tests.helpers import create_branch, create_user, make_app, pending_approval, token_client, uniq
from worker.registry import Deps, build_worker


async def test_request_succeeds_while_temporal_is_down_and_the_poller_starts_it(
    dev_env, sqlite_db, settings, task_queue
):
    db = sqlite_db
    settings.task_queue = task_queue  # settings point Temporal at a closed port (127.0.0.1:1)
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        clerk = await create_user(s, grants=[("clerk", b.id)])
    app = make_app(db, settings)  # no client given: it must connect, and cannot
    api = await token_client(app, db, clerk)
    cid = (
        await api.post(
            "/api/v1/customers", json={"name": "Di Down", "home_branch_id": b.id, "email": "di@example.com"}
        )
    ).json()["id"]
    r = await api.post(
        f"/api/v1/customers/{cid}/credit-limit-requests",
        json={"requested_limit_minor": 90_000, "reason": "Temporal is down"},
    )
    assert r.status_code == 202, r.text
    wid = r.json()["workflow_id"]
    async with db.read_sessionmaker() as s:
        row = await s.scalar(select(WorkflowStart).where(WorkflowStart.workflow_id == wid))
    assert row.status == "pending"
    assert (await api.get("/api/v1/approvals")).status_code == 200
    async with build_worker(
        dev_env.client, Deps(settings=settings, sessionmaker=db.sessionmaker), task_queue=task_queue
    ):
        # Twice, as two pollers (or a retry) would: one workflow run.
        assert (
            await starts.start_pending(
                dev_env.client, db.sessionmaker, older_than=timedelta(0), default_queue=task_queue
            )
            >= 1
        )
        await starts.dispatch(dev_env.client, db.sessionmaker, [wid], default_queue=task_queue)
        for _ in range(100):
            async with db.read_sessionmaker() as s:
                gate = await s.scalar(select(ApprovalRequest).where(ApprovalRequest.workflow_id == wid))
            if gate:
                break
            await asyncio.sleep(0.05)
        assert gate is not None and gate.status == "pending"
    async with db.read_sessionmaker() as s:
        row = await s.scalar(select(WorkflowStart).where(WorkflowStart.workflow_id == wid))
    assert row.status == "started" and row.started_at is not None
    runs = [w async for w in dev_env.client.list_workflows(f"WorkflowId = '{wid}'")]
    assert len(runs) == 1


async def test_a_decision_without_temporal_is_recorded_and_told_later(sqlite_db, settings):
    """No Temporal: the decision still commits (inbox row closed, audited); its signal to the
    workflow waits in the outbox for the poller."""
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        fin = await create_user(s, grants=[("finance", b.id)])
        row = await pending_approval(s, b.id)
    api = await token_client(make_app(db, settings), db, fin)
    r = await api.post(f"/api/v1/approvals/{row.id}/decision", json={"approve": True})
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    async with db.read_sessionmaker() as s:
        assert (await s.get(ApprovalRequest, row.id)).decided_by_id == fin.id
        told = await s.scalar(select(WorkflowSignal).where(WorkflowSignal.workflow_id == row.workflow_id))
        assert (told.signal, told.status, told.args["user_id"]) == ("approval_decided", "pending", fin.id)


async def test_a_signal_sent_after_the_reply_is_delivered_and_marked_by_drain(dev_env, sqlite_db):
    """A signal nobody waits on goes in a task of its own after the reply; the app's shutdown
    (drain) lets it finish and marks it (here: dropped, no such workflow)."""
    db = sqlite_db
    outbox = Outbox(db.sessionmaker, default_queue="-")
    async with db.sessionmaker() as s:
        async with s.begin():
            row = await starts.enqueue_signal(s, workflow_id=uniq("nobody-"), signal="poke", after_reply=True)
        assert starts.take_queued(s) == []  # nothing for before the reply

        async def client():
            return dev_env.client

        outbox.dispatch_after_reply(client, starts.take_later(s))
    await outbox.drain()
    async with db.read_sessionmaker() as s:
        assert (await s.get(WorkflowSignal, row.id)).status == "dropped"
