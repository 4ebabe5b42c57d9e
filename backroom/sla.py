"""SLA arithmetic shared by complaints and after-sales cases: how much of a clock is used, and
what that means (on track, at risk, breached, met). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

AT_RISK = 0.75


class SlaStatus(StrEnum):
    breached = "breached"
    at_risk = "at_risk"  # more than AT_RISK of a running clock used
    on_track = "on_track"
    met = "met"  # done in time


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


def clock_used(due_at: datetime | None, minutes: int, at: datetime) -> float:
    """Share of a `minutes` clock ending at `due_at` used by `at` (a paused clock: pass the
    moment it paused)."""
    if due_at is None or minutes <= 0:
        return 0.0
    return 1.0 - (due_at - at).total_seconds() / (minutes * 60)


def running(used: float, due_at: datetime | None, *, breached: bool, paused: bool) -> SlaInfo:
    """The status of a clock that still runs (or is paused)."""
    if breached or used >= 1.0:
        status = SlaStatus.breached
    elif used > AT_RISK:
        status = SlaStatus.at_risk
    else:
        status = SlaStatus.on_track
    return SlaInfo(status, round(used, 4), due_at, paused)


def finished(*, breached: bool) -> SlaInfo:
    """The status once the work is done: met, or breached if it ever was."""
    return SlaInfo(SlaStatus.breached if breached else SlaStatus.met, 0.0, None, False)
