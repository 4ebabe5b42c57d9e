"""Report periods: a branch-local day, an ISO week (Monday start) or a calendar month, and the
exact half-open UTC interval each one covers in a given IANA time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from backroom.errors import InvalidInput


class Edition(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


@dataclass(frozen=True)
class Period:
    """A period on the calendar, independent of any zone: [start_local, end_local)."""

    edition: Edition
    label: str  # "2026-11-30", "2026-W48", "2026-11"
    start_local: date
    end_local: date  # exclusive

    @property
    def days(self) -> list[date]:
        return [self.start_local + timedelta(days=i) for i in range((self.end_local - self.start_local).days)]


def zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"{tz!r} is not a known time zone.", field="timezone") from exc


def local_midnight(day: date, tz: str) -> datetime:
    """The instant (UTC) the local day starts. Where midnight is skipped by a DST change the day
    starts at the change (fold=0 takes the offset in force before it)."""
    return datetime.combine(day, time(0), zone(tz)).astimezone(UTC)


def bounds(period: Period, tz: str) -> tuple[datetime, datetime]:
    """The period in `tz` as a half-open UTC interval [start, end). A DST day is 23 or 25 hours."""
    return local_midnight(period.start_local, tz), local_midnight(period.end_local, tz)


def _first_of_next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def period_for(edition: Edition | str, day: date) -> Period:
    """The period of this edition that contains the calendar day `day`."""
    edition = Edition(edition)
    if edition is Edition.DAILY:
        return Period(edition, day.isoformat(), day, day + timedelta(days=1))
    if edition is Edition.WEEKLY:
        iso_year, week, weekday = day.isocalendar()
        start = day - timedelta(days=weekday - 1)
        return Period(edition, f"{iso_year}-W{week:02d}", start, start + timedelta(days=7))
    start = day.replace(day=1)
    return Period(edition, f"{start:%Y-%m}", start, _first_of_next_month(start))


def previous(period: Period) -> Period:
    """The period of the same edition just before this one."""
    return period_for(period.edition, period.start_local - timedelta(days=1))


def following(period: Period) -> Period:
    """The period of the same edition just after this one."""
    return period_for(period.edition, period.end_local)


_LABELS = {
    Edition.DAILY: re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"),
    Edition.WEEKLY: re.compile(r"^(\d{4})-W(\d{2})$"),
    Edition.MONTHLY: re.compile(r"^(\d{4})-(\d{2})$"),
}


def from_label(edition: Edition | str, label: str) -> Period:
    """Parse "2026-11-30", "2026-W53" or "2026-11" back into its period."""
    edition = Edition(edition)
    m = _LABELS[edition].match(label.strip())
    try:
        if not m:
            raise ValueError(label)
        parts = [int(g) for g in m.groups()]
        if edition is Edition.DAILY:
            day = date(*parts)
        elif edition is Edition.WEEKLY:
            day = date.fromisocalendar(parts[0], parts[1], 1)
        else:
            day = date(parts[0], parts[1], 1)
    except ValueError as exc:
        examples = {Edition.DAILY: "2026-11-30", Edition.WEEKLY: "2026-W48", Edition.MONTHLY: "2026-11"}
        raise InvalidInput(
            f"{label!r} is not a {edition} period; write it like {examples[edition]}.", field="period"
        ) from exc
    return period_for(edition, day)


def local_day_bounds(period: Period, tz: str) -> list[tuple[date, datetime, datetime]]:
    """Each local day of the period with its UTC interval (for by-day breakdowns)."""
    return [(d, local_midnight(d, tz), local_midnight(d + timedelta(days=1), tz)) for d in period.days]
