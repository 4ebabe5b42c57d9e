"""SLA status of a complaint: one pure function used by the page, the queue and the API. The
arithmetic is shared with after-sales cases (backroom/sla.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backroom.complaints.models import ComplaintStatus, Level, Severity
from backroom.sla import (
    ALWAYS,
    AT_RISK,
    RANK,
    SlaInfo,
    SlaStatus,
    WorkCalendar,
    clock_used,
    finished,
    running,
)

__all__ = ["AT_RISK", "LEVELS", "RANK", "SEVERITIES", "SlaInfo", "SlaStatus", "sla_status"]

LEVELS = tuple(Level)
SEVERITIES = tuple(Severity)


def sla_status(c: Any, now: datetime, cal: WorkCalendar = ALWAYS) -> SlaInfo:
    """`c` has the complaint's SLA columns (ORM row or anything alike); the clocks count the
    working time of `cal` (its branch's calendar). Pure."""
    breached = bool(c.first_response_breached or c.resolution_breached)
    if c.status in (ComplaintStatus.resolved, ComplaintStatus.closed):
        return finished(breached=breached)
    at = c.paused_at or now
    clocks = []
    if c.responded_at is None:
        clocks.append(
            (clock_used(c.first_response_due_at, c.first_response_minutes, at, cal), c.first_response_due_at)
        )
    clocks.append((clock_used(c.resolution_due_at, c.resolution_minutes, at, cal), c.resolution_due_at))
    used, due = max(clocks, key=lambda x: x[0])
    return running(used, due, breached=breached, paused=c.paused_at is not None)
