"""AlertSweepWorkflow on the time-skipping server: the first round raises the alert for a
breached complaint, a later round auto-resolves it once the complaint is resolved."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from backroom.alerts.flow import AlertSweepInput
from backroom.alerts.models import ExceptionAlert
from backroom.complaints.models import Complaint
from tests.backroom.reports.records import complaint, customer
from tests.custops_helpers import running_worker
from tests.helpers import create_branch
from workflows.alerts import AlertSweepWorkflow


async def _alert(db, key):
    for _ in range(200):
        async with db.read_sessionmaker() as s:
            row = await s.scalar(select(ExceptionAlert).where(ExceptionAlert.key == key))
        if row is not None:
            return row
        await asyncio.sleep(0.05)
    return None


async def test_sweep_workflow_raises_then_auto_resolves(
    sqlite_db, ts_env, settings, task_queue, save_history
):
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        c = await complaint(
            s,
            branch=b,
            customer=await customer(s, branch=b),
            at=datetime.now(UTC) - timedelta(days=3),
            resolution_breached=True,
        )
    key = f"complaint-{c.id}:resolution-breach"
    async with running_worker(ts_env, settings, db, task_queue) as handles:
        handle = await ts_env.client.start_workflow(
            AlertSweepWorkflow.run,
            AlertSweepInput(interval_minutes=5, rounds_left=3),
            id=f"alert-sweep-{task_queue}",
            task_queue=task_queue,
        )
        handles.append(handle)
        raised = await _alert(db, key)
        assert raised is not None and raised.status == "open" and raised.raised_by == "Alert sweep"
        async with db.sessionmaker.begin() as s:
            (await s.get(Complaint, c.id)).status = "resolved"
        await ts_env.sleep(6 * 60)
        for _ in range(200):
            async with db.read_sessionmaker() as s:
                row = await s.scalar(select(ExceptionAlert).where(ExceptionAlert.key == key))
            if row.status == "resolved":
                break
            await asyncio.sleep(0.05)
        await save_history(handle, "alert_sweep_raise_and_resolve")
        assert (row.status, row.resolution) == ("resolved", "auto")
