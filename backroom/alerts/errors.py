"""Alert refusals, in words a shop worker understands."""

from __future__ import annotations

from backroom.errors import Conflict, Refused


class AlertAlreadyResolved(Conflict):
    code, title = "alert_resolved", "The alert is already resolved"


class AssigneeNotAllowed(Refused):
    code, title = "assignee_not_allowed", "That person cannot take this alert"
