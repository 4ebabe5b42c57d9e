"""SLA status of a complaint: one pure function used by the page, the queue and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from backroom.complaints.models import ComplaintStatus, Level, Severity

AT_RISK = 0.75
LEVELS = tuple(Level)
SEVERITIES = tuple(Severity)


class SlaStatus(StrEnum):
    breached = "breached"
    at_risk = "at_risk"  # more than AT_RISK of a running clock used
    on_track = "on_track"
    met = "met"  # resolved in time


# Queue order: the riskiest first.
RANK = {SlaStatus.breached: 0, SlaStatus.at_risk: 1, SlaStatus.on_track: 2, SlaStatus.met: 3}


@dataclass(frozen=True)
class SlaInfo:
    status: SlaStatus
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
    if c.status in (ComplaintStatus.resolved, ComplaintStatus.closed):
        return SlaInfo(SlaStatus.breached if breached else SlaStatus.met, 0.0, None, False)
    at = c.paused_at or now
    clocks = []
    if c.responded_at is None:
        clocks.append((_used(c.first_response_due_at, c.first_response_minutes, at), c.first_response_due_at))
    clocks.append((_used(c.resolution_due_at, c.resolution_minutes, at), c.resolution_due_at))
    used, due = max(clocks, key=lambda x: x[0])
    if breached or used >= 1.0:
        status = SlaStatus.breached
    elif used > AT_RISK:
        status = SlaStatus.at_risk
    else:
        status = SlaStatus.on_track
    return SlaInfo(status, round(used, 4), due, c.paused_at is not None)
