"""The branch working calendar the SLA clocks count (backroom/sla.py): opening hours in the
branch's zone, holidays, DST, and the clock arithmetic the pages and workflows share."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from backroom.sla import ALWAYS, WorkCalendar, clock_used, resumed_due

# Berlin, Monday to Friday 09:00-17:00, closed on Christmas Day.
SHOP = WorkCalendar(
    tz="Europe/Berlin", hours=dict.fromkeys(range(5), (9 * 60, 17 * 60)), holidays=(date(2026, 12, 25),)
)
H = timedelta(hours=1)


def test_a_target_runs_only_in_working_hours_skipping_weekends_and_holidays():
    thursday_4pm = datetime(2026, 12, 24, 15, 0, tzinfo=UTC)  # 16:00 in Berlin
    # 1 h on Thursday; Friday is a holiday, then the weekend; 1 h on Monday 09:00-10:00 Berlin.
    assert SHOP.add(thursday_4pm, 2 * H) == datetime(2026, 12, 28, 9, 0, tzinfo=UTC)
    assert SHOP.between(thursday_4pm, datetime(2026, 12, 28, 9, 0, tzinfo=UTC)) == 2 * H
    saturday = datetime(2026, 12, 26, 12, 0, tzinfo=UTC)
    assert SHOP.add(saturday, H) == datetime(2026, 12, 28, 9, 0, tzinfo=UTC)  # opens 08:00 UTC
    assert SHOP.between(saturday, saturday + 30 * H) == timedelta(0)


def test_ten_working_days_of_a_repair_end_two_weeks_later():
    monday_9am = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    due = SHOP.add(monday_9am, 10 * SHOP.day_minutes * timedelta(minutes=1))
    assert due == datetime(2026, 3, 13, 16, 0, tzinfo=UTC)  # Friday of the next week, 17:00 Berlin


def test_working_hours_follow_the_branch_zone_across_dst():
    before = datetime(2026, 3, 27, 8, 0, tzinfo=UTC)  # Friday 09:00 CET (UTC+1)
    after = SHOP.add(before, 9 * H)  # 8 h on Friday, 1 h on Monday
    assert after == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)  # Monday 10:00 CEST (UTC+2)


def test_around_the_clock_is_plain_time_so_old_clocks_are_unchanged():
    t = datetime(2026, 5, 1, 3, 0, tzinfo=UTC)
    assert ALWAYS.add(t, 5 * H) == t + 5 * H and ALWAYS.between(t, t + 5 * H) == 5 * H
    assert clock_used(t + 4 * H, 240, t + H) == 0.25


def test_clock_use_and_a_resumed_deadline_count_working_time():
    friday_4pm = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)
    due = SHOP.add(friday_4pm, 2 * H)  # Monday 10:00 Berlin
    # Over the weekend nothing is used: the clock stands where it stood on Friday at 17:00.
    assert clock_used(due, 120, datetime(2026, 3, 7, 12, 0, tzinfo=UTC), SHOP) == 0.5
    assert clock_used(due, 120, due + H, SHOP) == 1.5  # past the deadline: over 1
    # Paused at Friday 16:00, resumed Monday 09:00 Berlin: the 2 h left run 09:00-11:00.
    resumed = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    assert resumed_due(due, friday_4pm, resumed, SHOP) == datetime(2026, 3, 9, 10, 0, tzinfo=UTC)


def test_the_calendar_travels_in_workflow_inputs_unchanged():
    again = WorkCalendar.model_validate_json(SHOP.model_dump_json())
    assert again == SHOP and again.add(datetime(2026, 12, 24, 15, tzinfo=UTC), 2 * H) == SHOP.add(
        datetime(2026, 12, 24, 15, tzinfo=UTC), 2 * H
    )
