"""Trend, variance and forecast on known synthetic series, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from backroom.analytics import service
from backroom.analytics import targets as targets_svc
from backroom.analytics.series import scope_for
from backroom.audit.context import Actor
from backroom.errors import InvalidInput
from tests.backroom.analytics.synthetic import branch, orders_per_day
from tests.helpers import create_user

TODAY = date(2026, 11, 30)  # a Monday
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


async def _scope(session, b, measure="placed"):
    return await scope_for(session, function="orders", measure=measure, branch_ids=[b.id])


async def test_linear_trend_slope_moving_average_and_totals(db):
    async with db.sessionmaker.begin() as s:
        b = await branch(s)
        first = TODAY - timedelta(days=29)
        counts = [5 + 2 * i for i in range(30)]  # today's (partial) bucket included
        await orders_per_day(s, branch=b, first=first, counts=counts, value_minor=1250)
        t = await service.trend(s, await _scope(s, b), window_days=30, bucket="day", now=NOW)
        money = await service.trend(s, await _scope(s, b, "value"), window_days=30, bucket="day", now=NOW)
    values = [p.value for p in t.points]
    assert values == counts
    assert t.points[-1].partial and not t.points[-2].partial
    assert t.slope_per_bucket == pytest.approx(2.0)
    assert t.points[-2].moving_average == pytest.approx(np.mean(counts[-8:-1]))
    assert t.points[5].moving_average is None  # fewer than 7 buckets before it
    assert t.total == sum(counts)
    assert money.total == 1250 * sum(counts) and money.currency == "USD"
    assert money.display_total == f"{1250 * sum(counts) / 100:,.2f} USD"


async def test_weekly_buckets_start_on_monday_and_sum_the_days(db):
    async with db.sessionmaker.begin() as s:
        b = await branch(s, tz="America/New_York")
        await orders_per_day(s, branch=b, first=TODAY - timedelta(days=89), counts=[3] * 90, hour=23)
        t = await service.trend(s, await _scope(s, b), window_days=90, bucket="week", now=NOW)
    assert all(p.start.weekday() == 0 for p in t.points)
    full = [p for p in t.points if not p.partial and p.start >= TODAY - timedelta(days=89)]
    assert full and all(p.value == 21 for p in full)  # 23:00 local stays on its local day


async def test_forecast_interval_covers_held_out_day_of_weekly_pattern(db):
    pattern = [20, 22, 25, 30, 40, 60, 15]
    rng = np.random.default_rng(7)
    days = 10 * 7
    first = TODAY - timedelta(days=days)
    counts = [
        max(0, round(pattern[(first + timedelta(days=i)).weekday()] + rng.normal(0, 1.5)))
        for i in range(days)
    ]
    held_out = pattern[TODAY.weekday()]
    async with db.sessionmaker.begin() as s:
        b = await branch(s)
        await orders_per_day(s, branch=b, first=first, counts=[*counts, held_out])
        f = await service.forecast(s, await _scope(s, b), bucket="day", now=NOW)
    assert f.enough_history and f.next_start == TODAY and "season" in f.method
    assert f.lower_95 <= f.lower_80 <= f.forecast <= f.upper_80 <= f.upper_95
    assert f.lower_95 <= held_out <= f.upper_95
    assert f.forecast == pytest.approx(held_out, rel=0.15)
    assert f.mape_pct is not None and f.mape_pct < 15 and f.backtest_periods == 7


async def test_too_short_a_history_says_so_instead_of_guessing(db):
    async with db.sessionmaker.begin() as s:
        b = await branch(s)
        await orders_per_day(s, branch=b, first=TODAY - timedelta(days=6), counts=[4, 5, 6, 4, 5, 6])
        f = await service.forecast(s, await _scope(s, b), bucket="day", now=NOW)
    assert not f.enough_history and f.forecast is None and f.lower_95 is None
    assert "Not enough history" in f.message and f.history_points == 6 and f.needed_points == 21


async def test_step_change_variance_against_baselines_and_target(db):
    # Four weeks at 10 a day, then the week of TODAY at 30 a day: a step up of 200 %.
    week = TODAY - timedelta(days=TODAY.weekday())
    async with db.sessionmaker.begin() as s:
        b = await branch(s)
        user = await create_user(s, grants=[("manager", b.id)])
        await orders_per_day(s, branch=b, first=week - timedelta(days=28), counts=[10] * 28 + [30] * 7)
        # Same ISO week last year: 15 a day.
        await orders_per_day(s, branch=b, first=week - timedelta(days=364), counts=[15] * 7)
        await targets_svc.set_target(
            s,
            actor=Actor.user(user.id, user.full_name),
            data=targets_svc.TargetIn(
                function="orders",
                measure="placed",
                branch_id=b.id,
                edition="weekly",
                period="2026-W49",
                value="180",
            ),
        )
        v = await service.variance(s, await _scope(s, b), edition="weekly", day=TODAY, tolerance_pct=10)
    lines = {line.baseline: line for line in v.lines}
    assert v.current == 210 and v.period == "2026-W49"
    assert lines["previous_period"].value == 70 and lines["previous_period"].variance_pct == pytest.approx(
        200
    )
    assert lines["trailing_average"].value == 70
    assert lines["last_year"].value == 105 and lines["last_year"].variance == 105
    assert lines["target"].value == 180 and lines["target"].variance == 30
    assert lines["target"].variance_pct == pytest.approx(100 * 30 / 180)
    assert all(line.outside_tolerance and line.favourable for line in v.lines)


async def test_bad_analytics_input_is_refused_in_words(db):
    async with db.sessionmaker.begin() as s:
        b = await branch(s)
        sc = await _scope(s, b)
        with pytest.raises(InvalidInput, match="7, 30, 90 or 365"):
            await service.trend(s, sc, window_days=12, bucket="day", now=NOW)
        with pytest.raises(InvalidInput, match="day, week, month"):
            await service.trend(s, sc, window_days=30, bucket="hour", now=NOW)
        with pytest.raises(InvalidInput, match="balance"):
            await scope_for(s, function="credit", measure="overdue_accounts", branch_ids=[b.id])


async def test_dashboard_cards_count_every_branch_but_never_add_currencies(db):
    from backroom.analytics import dashboard
    from backroom.analytics.modules import MODULES

    async with db.sessionmaker.begin() as s:
        usd, eur = await branch(s, currency="USD"), await branch(s, currency="EUR")
        for b, n in ((usd, 4), (eur, 6)):
            await orders_per_day(
                s, branch=b, first=TODAY - timedelta(days=2), counts=[n] * 3, value_minor=500
            )
        cards = await dashboard.cards(
            s,
            module=MODULES["commerce"],
            branches={usd.id: usd, eur.id: eur},
            user_id=None,
            shift_ids=None,
            category=None,
            now=NOW,
        )
    by = {c.measure: c for c in cards}
    today, week = by["placed"].spans[0], by["placed"].spans[1]
    assert (today.value, today.previous) == (10, 10)
    assert week.value == 10  # Monday: the week so far is today
    value = by["value"].spans[0]
    assert value.display.endswith("EUR") and value.value == 6 * 500 and "EUR only" in by["value"].note


async def test_hour_of_day_profile_averages_per_weekday_in_local_time(db):
    async with db.sessionmaker.begin() as s:
        b = await branch(s, tz="America/Los_Angeles")
        # 28 days, 3 orders at 09:xx local each day, plus 5 more on Fridays at 17:xx.
        first = TODAY - timedelta(days=28)
        await orders_per_day(s, branch=b, first=first, counts=[3] * 28, hour=9)
        fridays = [5 if (first + timedelta(days=i)).weekday() == 4 else 0 for i in range(28)]
        await orders_per_day(s, branch=b, first=first, counts=fridays, hour=17)
        prof = await service.hour_profile(s, await _scope(s, b), days=28, now=NOW)
    cells = {(c.weekday, c.hour): c.value for c in prof.cells}
    assert all(cells[(d, 9)] == pytest.approx(3.0) for d in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))
    assert cells[("Fri", 17)] == pytest.approx(5.0)
    assert {h for (_, h) in cells} == {9, 17}


@pytest.mark.parametrize("first", [date(2026, 3, 25), date(2026, 10, 21)], ids=["spring", "autumn"])
async def test_local_days_hold_across_daylight_saving_changes(db, first):
    from backroom.analytics.series import base_by_day

    async with db.sessionmaker.begin() as s:
        b = await branch(s, tz="Europe/Berlin")
        # Two orders a day at 00:00-00:01 and two at 23:00-23:01 local, for nine days around the change.
        await orders_per_day(s, branch=b, first=first, counts=[2] * 9, hour=0)
        await orders_per_day(s, branch=b, first=first, counts=[2] * 9, hour=23)
        base = await base_by_day(s, await _scope(s, b), first, first + timedelta(days=9))
    assert base["placed"].tolist() == [4.0] * 9
