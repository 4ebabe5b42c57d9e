"""AlertSweepWorkflow (alert-sweep): one long-lived workflow that sweeps the data for alert
causes every few minutes, and once a day checks forecasts and targets."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.alerts import AlertActivities
    from backroom.alerts.flow import ALERT_SWEEP_WORKFLOW, AlertSweepInput
    from backroom.temporal import LONG_DB_STEP, RENDER_STEP


@workflow.defn(name=ALERT_SWEEP_WORKFLOW)
class AlertSweepWorkflow:
    @workflow.run
    async def run(self, inp: AlertSweepInput) -> None:
        """Sweep, sleep, repeat; continue-as-new before the history grows large."""
        last_daily = inp.last_daily
        for _ in range(inp.rounds_left):
            await workflow.execute_activity_method(AlertActivities.sweep, workflow.now(), **LONG_DB_STEP)
            today = workflow.now().date().isoformat()
            if last_daily != today:
                # Forecasts for every measure and branch: CPU-bound, bounded attempts.
                await workflow.execute_activity_method(
                    AlertActivities.daily_checks, workflow.now(), **RENDER_STEP
                )
                last_daily = today
            await workflow.sleep(timedelta(minutes=inp.interval_minutes))
        workflow.continue_as_new(
            AlertSweepInput(interval_minutes=inp.interval_minutes, last_daily=last_daily)
        )


WORKFLOWS = [AlertSweepWorkflow]
