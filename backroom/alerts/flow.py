"""AlertSweepWorkflow's payload, type name and id."""

from __future__ import annotations

from pydantic import BaseModel

ALERT_SWEEP_WORKFLOW = "AlertSweepWorkflow"
ALERT_SWEEP_ID = "alert-sweep"  # one per database (plus the deployment's workflow prefix)


class AlertSweepInput(BaseModel):
    interval_minutes: float = 5
    rounds_left: int = 500
    last_daily: str | None = None  # the UTC date the daily checks last ran
