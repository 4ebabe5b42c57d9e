"""SLA arithmetic shared by complaints and after-sales cases: the branch's working calendar
(the clocks count working time only), how much of a clock is used, and what that means (on
track, at risk, breached, met). Pure: the workflows run the same arithmetic as the pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cached_property
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

AT_RISK = 0.75


class SlaStatus(StrEnum):
    breached = "breached"
    at_risk = "at_risk"  # more than AT_RISK of a running clock used
    on_track = "on_track"
    met = "met"  # done in time


# Queue order: the riskiest first.
RANK = {SlaStatus.breached: 0, SlaStatus.at_risk: 1, SlaStatus.on_track: 2, SlaStatus.met: 3}


DAY = timedelta(days=1)
# Far enough for any target; a calendar without a single open day never reaches a deadline.
HORIZON_DAYS = 3 * 366


class WorkCalendar(BaseModel):
    """A branch's working time: opening hours per weekday (0 = Monday; minutes after local
    midnight, open until close) in the branch's zone, and its holidays (local dates). No hours
    at all means around the clock (every minute counts). Travels in workflow inputs, so a
    running clock keeps the calendar it started with."""

    model_config = ConfigDict(frozen=True)

    tz: str = "UTC"
    hours: dict[int, tuple[int, int]] = Field(default_factory=dict)
    holidays: tuple[date, ...] = ()

    @property
    def around_the_clock(self) -> bool:
        return not self.hours

    @cached_property
    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def day_minutes(self) -> int:
        """Minutes of a working day (the longest open day; 1440 around the clock): turns a
        target in working days into working minutes."""
        return max((c - o for o, c in self.hours.values()), default=24 * 60)

    def _windows(self, start: datetime):
        """The open windows (UTC start, UTC end) from the local day of `start` on."""
        day = start.astimezone(self._zone).date()
        for _ in range(HORIZON_DAYS):
            span = self.hours.get(day.weekday())
            if span and day not in self.holidays:
                opens, closes = (
                    datetime.combine(day, time(), self._zone) + timedelta(minutes=m) for m in span
                )
                # Wall-clock minutes through a DST change: convert each bound, then compare in UTC.
                yield opens.astimezone(UTC), closes.astimezone(UTC)
            day += DAY

    def add(self, start: datetime, span: timedelta) -> datetime:
        """The moment `span` of working time after `start` ends."""
        if self.around_the_clock:
            return start + span
        left = span
        for opens, closes in self._windows(start):
            begin = max(opens, start)
            if begin >= closes:
                continue
            if left <= closes - begin:
                return begin + left
            left -= closes - begin
        return start + timedelta(days=HORIZON_DAYS)

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from `start` to `end` (zero when `end` is not later)."""
        if self.around_the_clock or end <= start:
            return max(end - start, timedelta(0))
        total = timedelta(0)
        for opens, closes in self._windows(start):
            if opens >= end:
                break
            begin, finish = max(opens, start), min(closes, end)
            if finish > begin:
                total += finish - begin
        return total


ALWAYS = WorkCalendar()


@dataclass(frozen=True)
class SlaInfo:
    status: SlaStatus
    used: float  # share of the tightest running clock already used (0..1+)
    due_at: datetime | None  # the next deadline (None when nothing runs)
    paused: bool

    @property
    def sort_key(self) -> tuple:
        return (RANK[self.status], -self.used)


def clock_used(due_at: datetime | None, minutes: int, at: datetime, cal: WorkCalendar = ALWAYS) -> float:
    """Share of a clock of `minutes` working minutes ending at `due_at` used by `at` (a paused
    clock: pass the moment it paused). Past the deadline: above 1."""
    if due_at is None or minutes <= 0:
        return 0.0
    left = cal.between(at, due_at) if at < due_at else -cal.between(due_at, at)
    return 1.0 - left.total_seconds() / (minutes * 60)


def resumed_due(due_at: datetime | None, paused_at: datetime, at: datetime, cal: WorkCalendar = ALWAYS):
    """The deadline of a clock paused at `paused_at` and running again at `at`: the working
    time it had left, counted from `at`."""
    if due_at is None:
        return None
    return cal.add(at, cal.between(paused_at, due_at))


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
