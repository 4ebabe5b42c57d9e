"""The demo seed fills 90 days of history so every report has numbers; it is fast and idempotent."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from backroom.orders.models import Order
from backroom.reports import catalog, service
from backroom.seed import seed_demo


@pytest.mark.parametrize("fresh_db", ["sqlite", "postgres"], indirect=True)
async def test_demo_history_fills_every_report_quickly_and_once(fresh_db):
    started = time.perf_counter()
    async with fresh_db.sessionmaker.begin() as session:
        context = await seed_demo(session)
    elapsed = time.perf_counter() - started
    assert elapsed < 10, f"demo seed took {elapsed:.1f} s"
    async with fresh_db.sessionmaker.begin() as session:
        orders = await session.scalar(select(func.count(Order.id)))
        await seed_demo(session)
        assert await session.scalar(select(func.count(Order.id))) == orders > 500
        span = await session.execute(select(func.min(Order.placed_at), func.max(Order.placed_at)))
        first, last = span.one()
        assert datetime.now(UTC) - first > timedelta(days=85) and datetime.now(UTC) - last < timedelta(days=3)
        last_month = (datetime.now(UTC) - timedelta(days=20)).date()
        # Segment sizes come from daily membership snapshots, which begin with the first nightly
        # run after seeding: the 90-day history has none to backdate.
        for function in [f for f in catalog.functions() if f != "segmentation"]:
            report = await service.build_report(
                session, function=function, edition="monthly", day=last_month, branch_ids=None
            )
            assert report.has_data, function
            main = next(x for x in report.summary if x.measure == report.main_measure)
            assert (main.current.value or 0) > 0 or any(a.amount_minor for a in main.current.money), function
    assert len(context["branches"]) == 2
