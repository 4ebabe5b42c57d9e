"""A target above the approval threshold goes through the approval gate on the time-skipping
server: another manager approves and it comes into force; a self-approval is refused; a
rejection keeps the old value; an expired request changes nothing. All audited."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from backroom.analytics import targets
from backroom.analytics.models import Target
from backroom.approvals.errors import DecisionRefused
from backroom.approvals.models import ApprovalRequest
from backroom.audit.context import Actor
from backroom.audit.models import AuditEvent
from backroom.auth import service as auth
from backroom.starts.service import dispatch
from policies import load_enforcer
from tests.helpers import create_branch, create_user, decide, running_worker
from workflows.targets import TargetApprovalWorkflow


async def _principal(db, user):
    async with db.read_sessionmaker() as s:
        return await auth.principal_for(s, user, load_enforcer())


async def _request(db, env, task_queue, branch, who, value, period="2026-W50"):
    async with db.sessionmaker.begin() as s:
        row = await targets.set_target(
            s,
            actor=Actor.user(who.id, who.full_name),
            data=targets.TargetIn(
                function="orders",
                measure="placed",
                branch_id=branch.id,
                edition="weekly",
                period=period,
                value=value,
            ),
            task_queue=task_queue,
        )
        wid = row.workflow_id
    assert await dispatch(env.client, db.sessionmaker, [wid], default_queue=task_queue)
    inbox = None
    for _ in range(100):
        async with db.read_sessionmaker() as s:
            inbox = await s.scalar(select(ApprovalRequest).where(ApprovalRequest.workflow_id == wid))
        if inbox:
            break
        await asyncio.sleep(0.05)
    assert inbox is not None and inbox.function == "analytics" and inbox.roles == "manager"
    return row.id, wid, inbox


async def test_target_above_threshold_needs_another_manager(
    sqlite_db, ts_env, settings, task_queue, save_history
):
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        setter = await create_user(s, grants=[("manager", b.id)], full_name="Sam Setter")
        approver = await create_user(s, grants=[("manager", b.id)], full_name="Ann Approver")
        clerk = await create_user(s, grants=[("clerk", b.id)])
    settings.task_queue = task_queue
    async with running_worker(ts_env, settings, db, task_queue) as handles:
        tid, wid, inbox = await _request(db, ts_env, task_queue, b, setter, "20,000")
        handles.append(ts_env.client.get_workflow_handle(wid))
        async with db.read_sessionmaker() as s:
            t = await s.get(Target, tid)
            assert (t.value, t.pending_value, t.status) == (None, 20000, "pending")
        with pytest.raises(DecisionRefused, match="own request"):
            await decide(db, ts_env.client, inbox, await _principal(db, setter), approve=True, reason=None)
        with pytest.raises(Exception, match="may not"):
            await decide(db, ts_env.client, inbox, await _principal(db, clerk), approve=True, reason=None)
        outcome = await decide(
            db, ts_env.client, inbox, await _principal(db, approver), approve=True, reason=None
        )
        assert outcome.status == "approved"
        handle = ts_env.client.get_workflow_handle_for(TargetApprovalWorkflow.run, wid)
        decision = await handle.result()
        assert decision.approved and decision.decided_by_id == approver.id
        await save_history(handle, "target_approved")
        async with db.read_sessionmaker() as s:
            t = await s.get(Target, tid)
            assert (t.value, t.pending_value, t.status, t.approved_by_id) == (
                20000,
                None,
                "active",
                approver.id,
            )

        # A second raise, rejected: the approved value stays in force.
        tid2, wid2, inbox2 = await _request(db, ts_env, task_queue, b, setter, "30,000")
        assert tid2 == tid and wid2 != wid
        handles.append(ts_env.client.get_workflow_handle(wid2))
        await decide(
            db, ts_env.client, inbox2, await _principal(db, approver), approve=False, reason="Not realistic"
        )
        await ts_env.client.get_workflow_handle(wid2).result()
        async with db.read_sessionmaker() as s:
            t = await s.get(Target, tid)
            assert (t.value, t.pending_value, t.status) == (20000, None, "active")
            actions = list(
                (
                    await s.execute(
                        select(AuditEvent.action)
                        .where(AuditEvent.entity_type == "analytics_target", AuditEvent.entity_id == str(tid))
                        .order_by(AuditEvent.id)
                    )
                ).scalars()
            )
        assert actions == ["target.request", "target.approve", "target.request", "target.rejected"]

        # Nobody decides: after both levels expire the pending change is dropped.
        tid3, wid3, _ = await _request(db, ts_env, task_queue, b, setter, "40,000", period="2026-W51")
        handles.append(ts_env.client.get_workflow_handle(wid3))
        await ts_env.sleep(73 * 3600)
        result = await ts_env.client.get_workflow_handle_for(TargetApprovalWorkflow.run, wid3).result()
        assert result.status == "expired" and not result.approved
        async with db.read_sessionmaker() as s:
            t = await s.get(Target, tid3)
            assert (t.value, t.pending_value, t.status) == (None, None, "rejected")
