"""Period boundaries: DST days of 23 and 25 hours, ISO week 53 across a year end, months of
28/29/30/31 days, and the last millisecond of a local day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backroom.errors import InvalidInput
from backroom.reports.periods import Edition, bounds, following, from_label, period_for, previous
from backroom.reports.service import build_report
from tests.backroom.reports import records as r
from tests.helpers import create_branch


def hours(edition, day, tz):
    start, end = bounds(period_for(edition, day), tz)
    return (end - start).total_seconds() / 3600


def test_dst_days_are_23_and_25_hours_long_in_new_york():
    # 2026: clocks go forward on 8 March and back on 1 November in America/New_York.
    assert hours("daily", date(2026, 3, 8), "America/New_York") == 23
    assert hours("daily", date(2026, 11, 1), "America/New_York") == 25
    assert hours("daily", date(2026, 11, 2), "America/New_York") == 24
    assert hours("daily", date(2026, 11, 1), "UTC") == 24
    start, end = bounds(period_for("daily", date(2026, 11, 1)), "America/New_York")
    assert start == datetime(2026, 11, 1, 4, tzinfo=UTC) and end == datetime(2026, 11, 2, 5, tzinfo=UTC)
    # The week and month holding a change are an hour short or long too.
    assert hours("weekly", date(2026, 3, 8), "America/New_York") == 7 * 24 - 1
    assert hours("monthly", date(2026, 11, 15), "America/New_York") == 30 * 24 + 1


def test_iso_week_53_runs_across_the_year_end():
    # 2026 starts on a Thursday, so it has 53 ISO weeks; 2027 has 52.
    w = period_for("weekly", date(2027, 1, 2))
    assert w.label == "2026-W53" and w.start_local == date(2026, 12, 28) and w.end_local == date(2027, 1, 4)
    assert period_for("weekly", date(2026, 12, 31)) == w
    assert following(w).label == "2027-W01" and previous(w).label == "2026-W52"
    assert from_label("weekly", "2026-W53") == w
    assert period_for("weekly", date(2027, 12, 31)).label == "2027-W52"
    with pytest.raises(InvalidInput):
        from_label("weekly", "2027-W53")
    assert period_for("weekly", date(2026, 11, 30)).start_local.weekday() == 0  # Monday


@pytest.mark.parametrize(
    ("day", "days"),
    [(date(2026, 2, 10), 28), (date(2028, 2, 29), 29), (date(2026, 4, 30), 30), (date(2026, 12, 1), 31)],
)
def test_months_have_their_own_length(day, days):
    m = period_for(Edition.MONTHLY, day)
    assert (m.end_local - m.start_local).days == days == len(m.days)
    assert m.label == f"{day:%Y-%m}" and from_label("monthly", m.label) == m


def test_previous_periods():
    assert previous(period_for("daily", date(2026, 3, 1))).label == "2026-02-28"
    assert previous(period_for("monthly", date(2026, 1, 15))).label == "2025-12"
    assert previous(period_for("weekly", date(2026, 1, 1))).label == "2025-W52"  # 2026-W01 starts 29 Dec 2025
    with pytest.raises(InvalidInput):
        from_label("daily", "2026-02-30")


async def test_a_record_at_the_last_millisecond_counts_in_that_day_across_dst(db):
    ny = ZoneInfo("America/New_York")
    day = date(2026, 11, 1)  # 25 hours long
    async with db.sessionmaker.begin() as session:
        branch = await create_branch(session, timezone="America/New_York")
        berlin = await create_branch(session, timezone="Europe/Berlin")
        last = datetime(2026, 11, 1, 23, 59, 59, 999_000, tzinfo=ny)
        for at in (
            datetime(2026, 11, 1, 0, 0, tzinfo=ny),
            datetime(2026, 11, 1, 1, 30, tzinfo=ny, fold=1),  # the repeated hour, second time
            last,
            last + timedelta(milliseconds=1),  # next day
        ):
            await r.customer(session, branch=branch, at=at.astimezone(UTC))
        # Midnight in New York is 06:00 in Berlin: a Berlin record at 01:00 on 2 Nov local
        # belongs to Berlin's 2 November even though New York is still on 1 November.
        await r.customer(
            session, branch=berlin, at=datetime(2026, 11, 2, 1, tzinfo=ZoneInfo("Europe/Berlin"))
        )
        report = await build_report(
            session, function="customers", edition="daily", day=day, branch_ids=[branch.id, berlin.id]
        )
    created = next(x for x in report.summary if x.measure == "created")
    assert created.current.value == 3
    ny_bounds = next(b for b in report.period.bounds if b.branch_id == branch.id)
    assert ny_bounds.hours == 25 and ny_bounds.start_local.utcoffset() == timedelta(hours=-4)
    by_branch = next(b for b in report.breakdowns if b.dimension == "branch")
    assert {row.name: row.figures["created"].value for row in by_branch.rows} == {
        branch.name: 3,
        berlin.name: 0,
    }
