"""AlertSweepWorkflow (alert-sweep): one long-lived workflow that sweeps the data for alert
causes every few minutes, and once a day checks forecasts and targets."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow

SWEEP_ID = "alert-sweep"


class AlertSweepInput(BaseModel):
    interval_minutes: float = 5
    rounds_left: int = 500
    last_daily: str | None = None  # the UTC date the daily checks last ran


@workflow.defn
class AlertSweepWorkflow:
    @workflow.run
    async def run(self, inp: AlertSweepInput) -> None:
        """Sweep, sleep, repeat; continue-as-new before the history grows large."""
        last_daily = inp.last_daily
        for _ in range(inp.rounds_left):
            await workflow.execute_activity(
                "alerts.sweep", workflow.now(), start_to_close_timeout=timedelta(minutes=5)
            )
            today = workflow.now().date().isoformat()
            if last_daily != today:
                await workflow.execute_activity(
                    "alerts.daily_checks", workflow.now(), start_to_close_timeout=timedelta(minutes=10)
                )
                last_daily = today
            await workflow.sleep(timedelta(minutes=inp.interval_minutes))
        workflow.continue_as_new(
            AlertSweepInput(interval_minutes=inp.interval_minutes, last_daily=last_daily)
        )


async def start_sweep(client, settings) -> None:
    """Start the alert sweep unless it runs already. Idempotent (called by the worker)."""
    from temporalio.exceptions import WorkflowAlreadyStartedError

    try:
        await client.start_workflow(
            AlertSweepWorkflow.run,
            AlertSweepInput(),
            id=f"{settings.workflow_prefix}{SWEEP_ID}",
            task_queue=settings.task_queue,
        )
    except WorkflowAlreadyStartedError:
        pass


WORKFLOWS = [AlertSweepWorkflow]
