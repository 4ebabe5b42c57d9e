"""Payloads, name and id of FollowUpWorkflow. Pure Pydantic."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

FOLLOWUP_WORKFLOW = "FollowUpWorkflow"
# Update to FollowUpWorkflow: the task was done; ends the workflow (refused when already done).
FOLLOWUP_COMPLETE = "complete"


def followup_workflow_id(task_id: int) -> str:
    return f"followup-{task_id}"


class FollowUpInput(BaseModel):
    task_id: int
    due_at: datetime
    grace_minutes: int


class CompleteTask(BaseModel):
    user_id: int | None = None
