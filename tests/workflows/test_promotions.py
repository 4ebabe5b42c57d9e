"""PromotionApprovalWorkflow on the time-skipping server: a high-risk promotion waits for a
manager; approved it goes live, rejected it goes back to draft, unanswered it escalates to
an admin and then expires. A risky change to a live promotion keeps the old terms meanwhile."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest_asyncio
from sqlalchemy import select
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from backroom.approvals.models import ApprovalRequest
from backroom.audit.context import Actor
from backroom.audit.service import verify
from backroom.auth import service as auth
from backroom.promotions import service as promotions
from backroom.promotions.schemas import PromotionCreate, PromotionUpdate
from backroom.starts import service as starts
from policies import load_enforcer
from tests.conftest import binary
from tests.helpers import decide, staff
from worker.registry import Deps, build_worker

HISTORIES = Path(__file__).parent / "histories"


async def _principal(db, user):
    async with db.read_sessionmaker() as s:
        return await auth.principal_for(s, user, load_enforcer())


async def _inbox_row(db, workflow_id: str) -> ApprovalRequest:
    for _ in range(200):
        async with db.read_sessionmaker() as s:
            row = await s.scalar(select(ApprovalRequest).where(ApprovalRequest.workflow_id == workflow_id))
        if row:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError("no inbox row")


async def _status(db, promotion_id: int) -> str:
    async with db.read_sessionmaker() as s:
        return (await promotions.get_promotion(s, promotion_id)).status


async def test_manager_approves_and_rejects(ts_env, sqlite_db, settings, task_queue):
    db = sqlite_db
    team = await staff(db, roles=("supervisor", "manager"))
    sup = team["supervisor"]
    actor = Actor.user(sup.id, sup.full_name)
    async with db.sessionmaker.begin() as s:
        big = await promotions.create_promotion(
            s,
            actor=actor,
            data=PromotionCreate(
                name="Half off",
                kind="percentage",
                percent_bp=5000,
                usage_limit=50,
                code="HALF-" + task_queue[-6:].upper(),
            ),
            branch_id=team["branch"].id,
            currency="USD",
        )
        big = await promotions.submit(s, actor=actor, promotion_id=big.id)
        wid = big.approval_workflow_id
    async with build_worker(
        ts_env.client, Deps(settings=settings, sessionmaker=db.sessionmaker), task_queue=task_queue
    ):
        await starts.dispatch(ts_env.client, db.sessionmaker, [wid], default_queue=task_queue)
        row = await _inbox_row(db, wid)
        assert row.roles == "manager" and row.function == "coupons" and "50 % off" in row.title
        assert await _status(db, big.id) == "pending_approval"
        mgr = await _principal(db, team["manager"])
        outcome = await decide(db, ts_env.client, row, mgr, approve=True, reason=None)
        assert outcome.status == "approved"
        handle = ts_env.client.get_workflow_handle(wid)
        assert await handle.result() == "approved"
        if os.environ.get("BACKROOM_SAVE_HISTORIES") == "1":
            (HISTORIES / "promotion_approved.json").write_text((await handle.fetch_history()).to_json())
        assert await _status(db, big.id) == "active"
        # A risky change to the live promotion waits; the manager rejects it; terms unchanged.
        async with db.sessionmaker.begin() as s:
            promo = await promotions.update_promotion(
                s, actor=actor, promotion_id=big.id, data=PromotionUpdate(percent_bp=8000)
            )
            wid2 = promo.approval_workflow_id
        await starts.dispatch(ts_env.client, db.sessionmaker, [wid2], default_queue=task_queue)
        row2 = await _inbox_row(db, wid2)
        await decide(db, ts_env.client, row2, mgr, approve=False, reason="Too generous")
        assert await ts_env.client.get_workflow_handle(wid2).result() == "rejected"
    async with db.read_sessionmaker() as s:
        promo = await promotions.get_promotion(s, big.id)
        assert (promo.status, promo.percent_bp, promo.proposed) == ("active", 5000, None)
        assert "Too generous" in promo.approval_note
        assert (await verify(s)).ok


@pytest_asyncio.fixture(loop_scope="session")
async def own_ts_env():
    """A time-skipping server of this test's own: skipping 72 h on the shared one can stall on
    timers that earlier tests' (no longer polled) workflows left behind."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=pydantic_data_converter
    )
    yield env
    await env.shutdown()


async def test_unanswered_request_escalates_then_expires(own_ts_env, sqlite_db, settings, task_queue):
    db, ts_env = sqlite_db, own_ts_env
    team = await staff(db, roles=("supervisor",))
    actor = Actor.user(team["supervisor"].id, "Sue")
    async with db.sessionmaker.begin() as s:
        promo = await promotions.create_promotion(
            s,
            actor=actor,
            data=PromotionCreate(
                name="Forever", kind="fixed", amount_minor=500, code="FOREVER-" + task_queue[-6:].upper()
            ),
            branch_id=team["branch"].id,
            currency="USD",
        )
        promo = await promotions.submit(s, actor=actor, promotion_id=promo.id, prefix=task_queue + "-")
    async with build_worker(
        ts_env.client, Deps(settings=settings, sessionmaker=db.sessionmaker), task_queue=task_queue
    ):
        await starts.dispatch(
            ts_env.client, db.sessionmaker, [promo.approval_workflow_id], default_queue=task_queue
        )
        await _inbox_row(db, promo.approval_workflow_id)
        # Nobody answers: after 48 h an admin is asked too, after 24 h more it expires.
        await ts_env.sleep(48 * 3600 + 60)
        row = await _inbox_row(db, promo.approval_workflow_id)
        assert (row.roles, row.level, row.status) == ("manager,admin", 2, "pending")
        await ts_env.sleep(24 * 3600 + 60)
        assert await ts_env.client.get_workflow_handle(promo.approval_workflow_id).result() == "expired"
    assert await _status(db, promo.id) == "draft"
