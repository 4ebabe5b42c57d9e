"""The demo seed fills 90 days of history so every report has numbers; it is idempotent (its speed is not a test's business)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from backroom.analytics import dashboard
from backroom.analytics.access import load_branches
from backroom.analytics.modules import MODULES
from backroom.orders.models import Order
from backroom.reports import catalog, service
from backroom.seed import seed_demo


@pytest.mark.parametrize("fresh_db", ["sqlite", "postgres"], indirect=True)
async def test_demo_history_fills_every_report_once(fresh_db):
    async with fresh_db.sessionmaker.begin() as session:
        context = await seed_demo(session)
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
        # The marketplace's demo (backroom/vendors/demo.py) is today's: its ledger has no
        # 90-day history yet, so last month's marketplace report is rightly empty.
        for function in [f for f in catalog.functions() if f not in ("segmentation", "marketplace")]:
            report = await service.build_report(
                session, function=function, edition="monthly", day=last_month, branch_ids=None
            )
            assert report.has_data, function
            main = next(x for x in report.summary if x.measure == report.main_measure)
            assert (main.current.value or 0) > 0 or any(a.amount_minor for a in main.current.money), function
    assert len(context["branches"]) == 2


@pytest.mark.parametrize("fresh_db", ["postgres"], indirect=True)
async def test_a_read_session_fans_out_and_gets_the_same_report(fresh_db):
    """On PostgreSQL a read session runs the report's queries at once on several connections;
    a write session runs them in turn on its own. Same numbers, every function."""
    async with fresh_db.sessionmaker.begin() as session:
        await seed_demo(session)
    last_month = (datetime.now(UTC) - timedelta(days=20)).date()
    seen: list[int] = []

    def count(*_args) -> None:
        seen.append(1)

    event.listen(fresh_db.engine.sync_engine, "checkout", count)
    try:
        for function in catalog.functions():
            kw = {"function": function, "edition": "monthly", "day": last_month, "branch_ids": None}
            async with fresh_db.sessionmaker.begin() as session:
                in_turn = await service.build_report(session, **kw)
            seen.clear()
            async with fresh_db.read_sessionmaker() as session:
                at_once = await service.build_report(session, **kw)
            fanned = len(seen)
            same = {"exclude": {"generated_at"}}
            assert at_once.model_dump(**same) == in_turn.model_dump(**same), function
            if function == "orders":
                assert fanned > 1  # more than the read session's own connection
    finally:
        event.remove(fresh_db.engine.sync_engine, "checkout", count)


@pytest.mark.parametrize("fresh_db", ["postgres"], indirect=True)
async def test_dashboard_cards_fan_out_to_the_same_numbers(fresh_db):
    async with fresh_db.sessionmaker.begin() as session:
        await seed_demo(session)
    for module in MODULES.values():
        got = []
        for maker in (fresh_db.sessionmaker.begin, fresh_db.read_sessionmaker):
            async with maker() as session:
                branches = await load_branches(session, None)
                cards = await dashboard.cards(
                    session,
                    module=module,
                    branches=branches,
                    user_id=None,
                    shift_ids=None,
                    category=None,
                    now=datetime.now(UTC),
                )
                got.append([(c.function, c.measure, [(x.value, x.previous) for x in c.spans]) for c in cards])
        assert got[0] == got[1] and any(v for _, _, spans in got[0] for v, _ in spans), module.key
