"""SLA status of a complaint: one pure function used by the page, the queue and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

AT_RISK = 0.75
LEVELS = ("agent", "supervisor", "manager")
SEVERITIES = ("low", "medium", "high", "critical")
# Queue order: the riskiest first.
RANK = {"breached": 0, "at_risk": 1, "on_track": 2, "met": 3}


@dataclass(frozen=True)
class SlaInfo:
    status: str  # on_track | at_risk | breached | met
    used: float  # share of the tightest running clock already used (0..1+)
    due_at: datetime | None  # the next deadline (None when nothing runs)
    paused: bool

    @property
    def sort_key(self) -> tuple:
        return (RANK[self.status], -self.used)


def _used(due_at: datetime | None, minutes: int, at: datetime) -> float:
    if due_at is None or minutes <= 0:
        return 0.0
    return 1.0 - (due_at - at).total_seconds() / (minutes * 60)


def sla_status(c: Any, now: datetime) -> SlaInfo:
    """`c` has the complaint's SLA columns (ORM row or anything alike). Pure."""
    breached = bool(c.first_response_breached or c.resolution_breached)
    if c.status in ("resolved", "closed"):
        return SlaInfo("breached" if breached else "met", 0.0, None, False)
    at = c.paused_at or now
    clocks = []
    if c.responded_at is None:
        clocks.append((_used(c.first_response_due_at, c.first_response_minutes, at), c.first_response_due_at))
    clocks.append((_used(c.resolution_due_at, c.resolution_minutes, at), c.resolution_due_at))
    used, due = max(clocks, key=lambda x: x[0])
    if breached or used >= 1.0:
        status = "breached"
    elif used > AT_RISK:
        status = "at_risk"
    else:
        status = "on_track"
    return SlaInfo(status, round(used, 4), due, c.paused_at is not None)
