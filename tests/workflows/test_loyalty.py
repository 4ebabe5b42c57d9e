"""Loyalty and segment workflows on the Temporal time-skipping server with a real worker."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from backroom.approvals.models import ApprovalRequest
from backroom.audit.context import Actor
from backroom.auth import service as auth
from backroom.db.base import utcnow
from backroom.loyalty import ledger
from backroom.loyalty import service as loyalty
from backroom.loyalty.flow import (
    AdjustmentInput,
    EarnLaterInput,
    NightlyInput,
    adjustment_workflow_id,
    earn_later_workflow_id,
)
from backroom.loyalty.models import LoyaltyAdjustment
from backroom.notifications.models import Notification
from backroom.segments import flow as seg_flow
from backroom.segments import service as segments
from backroom.segments.models import CustomerRfm, SegmentMembership
from backroom.segments.schemas import Group, SegmentCreate
from policies import load_enforcer
from tests.helpers import (
    TEST_ACTOR,
    add_order,
    create_branch,
    create_user,
    decide,
    make_member,
    make_program,
    make_shop,
    uniq,
)
from worker.registry import Deps, build_worker
from workflows.loyalty import (
    LoyaltyAdjustmentWorkflow,
    LoyaltyEarnAfterReturnsWorkflow,
    LoyaltyNightlyWorkflow,
)
from workflows.segments import SegmentsNightlyWorkflow


async def _inbox_row(db, handle):
    """The approval request's inbox row, once the gate's first activity wrote it."""
    for _ in range(100):
        async with db.read_sessionmaker() as s:
            row = await s.scalar(select(ApprovalRequest).where(ApprovalRequest.workflow_id == handle.id))
        if row:
            return row
        await asyncio.sleep(0.05)
    return None


def _worker(env, db, settings, task_queue):
    return build_worker(
        env.client, Deps(settings=settings, sessionmaker=db.sessionmaker), task_queue=task_queue
    )


async def test_nightly_run_expires_notifies_and_keeps_tiers(
    ts_env, sqlite_db, settings, task_queue, save_history
):
    db = sqlite_db
    now = utcnow()
    async with db.sessionmaker.begin() as s:
        program = await make_program(s, expiry_days=30)
        customer, member = await make_member(s, program)
        await loyalty.adjust(s, actor=TEST_ACTOR, customer_id=customer.id, points=40, reason="Old", now=now)
        await loyalty.adjust(
            s,
            actor=TEST_ACTOR,
            customer_id=customer.id,
            points=25,
            reason="New",
            now=now + timedelta(days=20),
        )
    at = now + timedelta(days=31)
    async with _worker(ts_env, db, settings, task_queue):
        handle = await ts_env.client.start_workflow(
            LoyaltyNightlyWorkflow.run,
            NightlyInput(at=at),
            id=uniq("loyalty-nightly-"),
            task_queue=task_queue,
        )
        result = await handle.result()
        await save_history(handle, "loyalty_nightly")
        again = await ts_env.client.execute_workflow(
            LoyaltyNightlyWorkflow.run,
            NightlyInput(at=at),
            id=uniq("loyalty-nightly-"),
            task_queue=task_queue,
        )
    assert result.expired_points >= 40 and result.tier_batches >= 1
    assert again.expired_points == 0  # a second run the same night changes nothing
    async with db.read_sessionmaker() as s:
        assert await ledger.balance(s, member.id) == 25
        # 25 points expire on day 50: the run on day 31 is 19 days early, no notice yet;
        # a run on day 20 (30 days before) sends one.
    async with db.sessionmaker.begin() as s:
        assert await loyalty.send_expiry_notices(s, now=now + timedelta(days=20) - timedelta(hours=1)) == 1
        note = await s.scalar(
            select(Notification).where(
                Notification.kind == "loyalty_expiry", Notification.to_customer_id == customer.id
            )
        )
        assert note.subject == "25 of your points expire in 30 days"


async def test_points_wait_for_the_return_window(ts_env, fresh_db, settings, task_queue, save_history):
    db = fresh_db
    async with db.sessionmaker.begin() as s:
        branch, _, products = await make_shop(s)
        program = await make_program(s, currency="USD", earn_on="return_window", return_window_days=14)
        customer, member = await make_member(s, program, branch=branch)
        order = await add_order(s, customer, total_minor=12_345, placed_at=utcnow(), product=products[0])
    async with _worker(ts_env, db, settings, task_queue):
        start = await ts_env.get_current_time()
        handle = await ts_env.client.start_workflow(
            LoyaltyEarnAfterReturnsWorkflow.run,
            EarnLaterInput(
                order_id=order.id,
                customer_id=customer.id,
                branch_id=customer.home_branch_id,
                earn_at=start + timedelta(days=14),
            ),
            id=earn_later_workflow_id(order.id),
            task_queue=task_queue,
        )
        assert await handle.result() is True
        await save_history(handle, "loyalty_earn_after_returns")
        assert await ts_env.get_current_time() >= start + timedelta(days=14)
    async with db.read_sessionmaker() as s:
        assert await ledger.balance(s, member.id) == 123


async def test_big_adjustment_waits_for_a_manager(ts_env, sqlite_db, settings, task_queue, save_history):
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        branch = await create_branch(s)
        clerk = await create_user(s, grants=[("clerk", branch.id)], full_name="Cleo Clerk")
        mgr = await create_user(s, grants=[("manager", branch.id)], full_name="Mo Manager")
        program = await make_program(s, adjust_approval_points=100)
        customer, member = await make_member(s, program, branch=branch)
        out = await loyalty.adjust(
            s,
            actor=Actor.user(clerk.id, clerk.full_name),
            customer_id=customer.id,
            points=500,
            reason="Lost card",
        )
        req = await s.get(LoyaltyAdjustment, out.adjustment_id)
    assert out.status == "pending_approval"
    async with _worker(ts_env, db, settings, task_queue):
        handle = await ts_env.client.start_workflow(
            LoyaltyAdjustmentWorkflow.run,
            AdjustmentInput(
                adjustment_id=req.id,
                customer_id=customer.id,
                customer_name=customer.name,
                branch_id=branch.id,
                points=500,
                reason="Lost card",
                requested_by_id=clerk.id,
                requested_by_name=clerk.full_name,
            ),
            id=adjustment_workflow_id(req.id),
            task_queue=task_queue,
        )
        row = await _inbox_row(db, handle)
        assert row is not None and row.roles == "manager"
        async with db.read_sessionmaker() as s:
            p = await auth.principal_for(s, mgr, load_enforcer())
        outcome = await decide(db, ts_env.client, row, p, approve=True, reason=None)
        assert outcome.status == "approved"
        assert await handle.result() == "approved"
        await save_history(handle, "loyalty_adjustment_approved")
    async with db.read_sessionmaker() as s:
        assert await ledger.balance(s, member.id) == 500
        assert (await s.get(LoyaltyAdjustment, req.id)).status == "applied"


async def test_segments_nightly_scores_and_snapshots(ts_env, sqlite_db, settings, task_queue, save_history):
    db = sqlite_db
    now = utcnow()
    async with db.sessionmaker.begin() as s:
        branch = await create_branch(s)
        from tests.helpers import create_customer

        buyer = await create_customer(s, branch=branch, tags=[f"wf-{branch.id}"])
        await add_order(s, buyer, total_minor=5_000, placed_at=now - timedelta(days=3))
        seg = await segments.create_segment(
            s,
            actor=TEST_ACTOR,
            data=SegmentCreate(
                name=uniq("Tagged "),
                rules=Group.model_validate(
                    {"conditions": [{"attr": "tag", "op": "is", "value": f"wf-{branch.id}"}]}
                ),
            ),
        )
    async with _worker(ts_env, db, settings, task_queue):
        handle = await ts_env.client.start_workflow(
            SegmentsNightlyWorkflow.run,
            seg_flow.NightlyInput(at=now),
            id=uniq("segments-nightly-"),
            task_queue=task_queue,
        )
        result = await handle.result()
        await save_history(handle, "segments_nightly")
    assert result.scored >= 1 and result.snapshots >= 1
    async with db.read_sessionmaker() as s:
        assert (await s.get(CustomerRfm, buyer.id)).branch_id == branch.id
        members = (
            await s.scalars(
                select(SegmentMembership.customer_id).where(SegmentMembership.segment_id == seg.id)
            )
        ).all()
        assert members == [buyer.id]


async def test_big_campaign_waits_for_a_manager_then_sends(
    ts_env, sqlite_db, settings, task_queue, save_history, monkeypatch
):
    db = sqlite_db
    monkeypatch.setattr(segments, "CAMPAIGN_APPROVAL_OVER", 1)
    async with db.sessionmaker.begin() as s:
        from tests.helpers import create_customer

        branch = await create_branch(s)
        clerk = await create_user(s, grants=[("clerk", branch.id)], full_name="Cleo Clerk")
        mgr = await create_user(s, grants=[("manager", branch.id)], full_name="Mo Manager")
        tag = f"camp-{branch.id}"
        people = [await create_customer(s, branch=branch, tags=[tag], consent_email=True) for _ in range(2)]
        seg = await segments.create_segment(
            s,
            actor=TEST_ACTOR,
            data=SegmentCreate(
                name=uniq("Campaign "),
                rules=Group.model_validate({"conditions": [{"attr": "tag", "op": "is", "value": tag}]}),
            ),
        )
        camp = await segments.create_campaign(
            s,
            actor=Actor.user(clerk.id, clerk.full_name),
            segment_id=seg.id,
            subject="Autumn",
            body="Hello",
            branch_id=branch.id,
        )
    assert camp.status == "pending_approval" and camp.recipients == 2
    async with _worker(ts_env, db, settings, task_queue):
        handle = await ts_env.client.start_workflow(
            "SegmentCampaignWorkflow",
            seg_flow.CampaignInput(
                campaign_id=camp.id,
                segment_name=seg.name,
                branch_id=branch.id,
                recipients=2,
                subject="Autumn",
                requested_by_id=clerk.id,
                requested_by_name=clerk.full_name,
            ),
            id=seg_flow.campaign_workflow_id(camp.id),
            task_queue=task_queue,
        )
        row = await _inbox_row(db, handle)
        assert row is not None
        async with db.read_sessionmaker() as s:
            p = await auth.principal_for(s, mgr, load_enforcer())
        await decide(db, ts_env.client, row, p, approve=True, reason=None)
        assert await handle.result() == "approved"
        await save_history(handle, "segment_campaign_approved")
    async with db.read_sessionmaker() as s:
        to = set(
            (
                await s.scalars(
                    select(Notification.to_customer_id).where(
                        Notification.dedupe_key.like(f"campaign:{camp.id}:%")
                    )
                )
            ).all()
        )
        assert to == {c.id for c in people}
