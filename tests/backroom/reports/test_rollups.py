"""Daily rollups give exactly the numbers of the records: every orders report (daily, weekly,
monthly; all branches, one branch; by staff member, shift, category) and the E-commerce KPI
cards, built both ways over generated orders in three zones (one half-hour zone) with records at
local midnight, then again after late changes to past days (cancellations, refunds, line edits,
an order moved across midnight, a product moved to another category), before and after the
refresher catches up. On SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from backroom.analytics import dashboard
from backroom.analytics.modules import MODULES
from backroom.audit.context import Actor
from backroom.branches.models import Shift
from backroom.carts import service as carts
from backroom.carts.models import Cart
from backroom.carts.schemas import CartView
from backroom.orders import service as order_service
from backroom.orders.models import OrderLine, Parcel
from backroom.reports import rollups, service
from backroom.reports.models import ReportRollupDay, ReportRollupDirty
from tests.backroom.reports import records as r
from tests.helpers import create_branch, create_user

ZONES = ("America/New_York", "Asia/Kolkata", "Asia/Tokyo")
FIRST = date(2026, 9, 20)
DAYS = 45  # to 2026-11-03: across a month end and New York's change back from daylight saving
NOW = datetime(2026, 11, 10, 12, tzinfo=UTC)  # every generated day is closed
CHECKED_DAYS = (
    date(2026, 9, 30),
    date(2026, 10, 1),
    date(2026, 10, 14),
    date(2026, 11, 1),
    date(2026, 11, 2),
)


def midnight(day: date, tz: str) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).astimezone(UTC)


async def _world(session, rng: random.Random, orders: int = 160):
    """Three branches, two cashiers each with a shift a day, three categories, orders spread over
    the days with a share at local midnight's edges, lines, captures and refunds."""
    branches = [await create_branch(session, timezone=tz) for tz in ZONES]
    # Distinct names: breakdown rows are ordered by name.
    staff = {
        b.id: [
            await create_user(session, grants=[("clerk", b.id)], full_name=f"Clerk {b.id}-{i}")
            for i in range(2)
        ]
        for b in branches
    }
    products = [
        await r.product(session, category=c, price_minor=p)
        for c, p in (("shoes", 2500), ("hats", 1250), ("bags", 4000))
    ]
    shifts = {}
    for b in branches:
        for u in staff[b.id]:
            for i in range(DAYS):
                opened = midnight(FIRST + timedelta(days=i), b.timezone)
                shift = Shift(branch_id=b.id, user_id=u.id, status="closed", opened_at=opened, currency="USD")
                session.add(shift)
                shifts[(b.id, u.id, i)] = shift
    await session.flush()
    made = []
    for n in range(orders):
        b = rng.choice(branches)
        i = rng.randrange(DAYS)
        start = midnight(FIRST + timedelta(days=i), b.timezone)
        end = midnight(FIRST + timedelta(days=i + 1), b.timezone)
        edge = rng.random()
        if edge < 0.2:
            at = start  # the day's first instant
        elif edge < 0.4:
            at = end - timedelta(microseconds=1000)  # its last millisecond
        else:
            at = start + (end - start) * rng.random()
        u = rng.choice(staff[b.id])
        lines = [(p, rng.randint(1, 3)) for p in rng.sample(products, rng.randint(1, 3))]
        status = rng.choice(["delivered"] * 6 + ["cancelled", "payment_failed"])
        o = await r.order(
            session,
            branch=b,
            at=at,
            lines=lines,
            status=status,
            created_by_id=u.id if n % 5 else None,
            shift_id=shifts[(b.id, u.id, i)].id if n % 3 else None,
            currency="USD" if n % 7 else "EUR",
        )
        if status != "payment_failed":
            await r.payment(
                session,
                order=o,
                kind="capture",
                status="succeeded",
                at=at + timedelta(minutes=rng.randint(0, 90)),
                amount_minor=o.total_minor,
                created_by_id=o.created_by_id,
            )
            await r.parcel(
                session,
                order=o,
                at=at + timedelta(hours=rng.randint(0, 20)),
                shipped_at=at + timedelta(hours=rng.randint(20, 40)),
                created_by_id=o.created_by_id,
            )
        if rng.random() < 0.4:
            await r.cart(
                session,
                branch=b,
                at=at - timedelta(minutes=rng.randint(0, 120)),
                status=rng.choice(["open", "checked_out", "abandoned"]),
                total_minor=o.total_minor,
                currency=o.currency,
            )
        if status == "delivered" and rng.random() < 0.3:
            await r.payment(
                session,
                order=o,
                kind="refund",
                status="succeeded",
                at=at + timedelta(hours=rng.randint(0, 30)),
                amount_minor=o.total_minor // 2,
                created_by_id=o.created_by_id,
                shift_id=o.shift_id,
            )
        made.append(o)
    return branches, staff, products, shifts, made


def _strip(report) -> dict:
    out = report.model_dump(mode="json")
    out.pop("generated_at")
    return out


async def _both_ways(session, monkeypatch, function="orders", **kw) -> tuple[dict, dict]:
    monkeypatch.setattr(service, "ROLLUPS", False)
    raw = _strip(await service.build_report(session, function=function, **kw))
    monkeypatch.setattr(service, "ROLLUPS", True)
    rolled = _strip(await service.build_report(session, function=function, **kw))
    return raw, rolled


async def _check_every_report(session, monkeypatch, branches, staff, shifts, products) -> int:
    ids = [b.id for b in branches]
    some_user = staff[ids[0]][0]
    some_shift = shifts[(ids[0], some_user.id, 10)]
    filters = [
        {},
        {"user_id": some_user.id},
        {"shift_id": some_shift.id},
        {"category": products[0].category},
        {"shift_ids": [some_shift.id, shifts[(ids[0], some_user.id, 11)].id]},
    ]
    checked = 0
    for edition in ("daily", "weekly", "monthly"):
        for day in CHECKED_DAYS:
            for branch_ids in (ids, [ids[1]]):
                for f in filters:
                    raw, rolled = await _both_ways(
                        session, monkeypatch, edition=edition, day=day, branch_ids=branch_ids, **f
                    )
                    assert rolled == raw, (edition, day, branch_ids, f)
                    checked += 1
    # The other rolled-up sources the KPI cards read (payments, parcels, carts).
    for function in ("payments", "shipping", "carts"):
        for edition, day in (
            ("daily", date(2026, 11, 1)),
            ("weekly", date(2026, 10, 14)),
            ("monthly", date(2026, 10, 1)),
        ):
            for f in ({}, {"user_id": some_user.id}):
                raw, rolled = await _both_ways(
                    session, monkeypatch, function, edition=edition, day=day, branch_ids=ids, **f
                )
                assert rolled == raw, (function, edition, day, f)
                checked += 1
    return checked


async def _cards(session, branches, monkeypatch, rolled: bool):
    monkeypatch.setattr(service, "ROLLUPS", rolled)
    out = []
    for sel in ({b.id: b for b in branches}, {branches[2].id: branches[2]}):
        cards = await dashboard.cards(
            session,
            module=MODULES["commerce"],
            branches=sel,
            user_id=None,
            shift_ids=None,
            category=None,
            now=datetime(2026, 10, 20, 15, tzinfo=UTC),
        )
        out.append([(c.measure, [(s.value, s.previous) for s in c.spans], c.spark) for c in cards])
    return out


async def _used_rollups(session, branches) -> int:
    return await session.scalar(
        select(func.count())
        .select_from(ReportRollupDay)
        .where(ReportRollupDay.branch_id.in_([b.id for b in branches]))
    )


def _count_days_read(monkeypatch) -> list[int]:
    """How many clean days each rollup-backed read took from the rollups (not from the records)."""
    seen: list[int] = []
    real = rollups.merged

    def counting(*args, **kw):
        out = real(*args, **kw)
        seen.append(out[2])
        return out

    monkeypatch.setattr(rollups, "merged", counting)
    return seen


async def test_every_orders_report_and_kpi_card_equals_the_records(db, monkeypatch):
    rng = random.Random(20261201)
    from_rollups = _count_days_read(monkeypatch)
    async with db.sessionmaker() as session:
        branches, staff, products, shifts, made = await _world(session, rng)
        ids = [b.id for b in branches]
        built = await rollups.refresh(
            session, start=FIRST, end=FIRST + timedelta(days=DAYS), branch_ids=ids, now=NOW
        )
        assert built["orders"] == built["parcels_shipped"] == len(ids) * DAYS
        assert not await session.scalar(
            select(func.count())
            .select_from(ReportRollupDirty)
            .where(ReportRollupDirty.branch_id.in_(ids), ReportRollupDirty.day < FIRST + timedelta(days=DAYS))
        )
        await _check_every_report(session, monkeypatch, branches, staff, shifts, products)
        assert sum(from_rollups) > 1000  # the rolled-up side did read rollups
        read_before = len(from_rollups)
        rolled_cards = await _cards(session, branches, monkeypatch, True)
        assert len(from_rollups) > read_before and from_rollups[-1] > 0  # the KPI cards did too
        assert rolled_cards == await _cards(session, branches, monkeypatch, False)

        # Late changes to past days, through the ORM as the services write them.
        old = [o for o in made if o.placed_at < midnight(date(2026, 10, 15), "UTC")]
        old[0].status = "cancelled"
        await r.payment(
            session,
            order=old[1],
            kind="refund",
            status="succeeded",
            at=old[1].placed_at + timedelta(days=1),
            amount_minor=300,
        )
        line = (
            (await session.execute(select(OrderLine).where(OrderLine.order_id == old[2].id)))
            .scalars()
            .first()
        )
        line.qty += 5
        line.line_total_minor += 5 * line.unit_price_minor
        # Across local midnight: the last millisecond of one day becomes the first of the next.
        b = next(x for x in branches if x.id == old[3].branch_id)
        local = old[3].placed_at.astimezone(ZoneInfo(b.timezone)).date()
        old[3].placed_at = midnight(local + timedelta(days=1), b.timezone)
        products[1].category = "headwear"
        cart = (
            (await session.execute(select(Cart).where(Cart.branch_id.in_(ids), Cart.status == "open")))
            .scalars()
            .first()
        )
        cart.status = "abandoned"  # the cart's opening day changes
        parcel = (await session.execute(select(Parcel).where(Parcel.branch_id.in_(ids)))).scalars().first()
        parcel.shipped_at += timedelta(days=1)  # leaves one day for the next
        await session.flush()
        marks = (
            select(func.count())
            .select_from(ReportRollupDirty)
            .where(ReportRollupDirty.branch_id.in_(ids), ReportRollupDirty.day < FIRST + timedelta(days=DAYS))
        )
        # The marks go in at commit, or before the transaction itself reads rollups.
        assert not await session.scalar(marks)
        await rollups.settle(session)
        dirty = await session.scalar(marks)
        assert dirty >= 8  # each change marked the day(s) it touched, in its own transaction
        # Before the refresher runs: the dirty days come from the records.
        await _check_every_report(session, monkeypatch, branches, staff, shifts, products)
        assert await _cards(session, branches, monkeypatch, True) == await _cards(
            session, branches, monkeypatch, False
        )
        # After it: rebuilt, clean, still equal.
        await rollups.refresh(session, start=FIRST, end=FIRST + timedelta(days=DAYS), branch_ids=ids, now=NOW)
        assert not await session.scalar(
            select(func.count())
            .select_from(ReportRollupDirty)
            .where(ReportRollupDirty.branch_id.in_(ids), ReportRollupDirty.day < FIRST + timedelta(days=DAYS))
        )
        await _check_every_report(session, monkeypatch, branches, staff, shifts, products)
        assert await _used_rollups(session, branches) == len(rollups.registered()) * len(ids) * DAYS
        await session.rollback()


async def test_the_timer_builds_closed_days_and_leaves_the_open_day_to_the_records(db, monkeypatch):
    async with db.sessionmaker() as session:
        branch = await create_branch(session, timezone="Asia/Kolkata")
        hats = await r.product(session, category="hats", price_minor=1250)
        now = midnight(date(2026, 11, 20), branch.timezone) + timedelta(hours=10)
        yesterday_late = midnight(date(2026, 11, 20), branch.timezone) - timedelta(microseconds=1000)
        for at in (yesterday_late, now - timedelta(hours=1)):
            await r.order(session, branch=branch, at=at, lines=[(hats, 1)])
        monkeypatch.setattr(
            rollups, "_BY_KEY", {k: v for k, v in rollups.registered().items() if k == "orders"}
        )
        built = await rollups.refresh(session, branch_ids=[branch.id], now=now)
        assert built == {"orders": rollups.RECENT_DAYS}  # the closed days; today is still open
        days = set(
            (await session.execute(select(ReportRollupDay.day).where(ReportRollupDay.branch_id == branch.id)))
            .scalars()
            .all()
        )
        assert date(2026, 11, 19) in days and date(2026, 11, 20) not in days
        marks = (
            (
                await session.execute(
                    select(ReportRollupDirty.day).where(
                        ReportRollupDirty.branch_id == branch.id, ReportRollupDirty.source == "orders"
                    )
                )
            )
            .scalars()
            .all()
        )
        assert marks == [date(2026, 11, 20)]  # the open day's mark stays until the day is built
        for day in (date(2026, 11, 19), date(2026, 11, 20)):
            raw, rolled = await _both_ways(
                session, monkeypatch, edition="daily", day=day, branch_ids=[branch.id]
            )
            assert rolled == raw
            assert next(x for x in rolled["summary"] if x["measure"] == "placed")["current"]["value"] == 1
        await session.rollback()


# --- Property: any interleaving of writes and refreshes keeps the two ways equal -------------------

_STEP = st.one_of(
    st.tuples(st.just("order"), st.integers(0, 9), st.sampled_from(["first", "last", "mid"])),
    st.tuples(st.just("cancel"), st.integers(0, 50)),
    st.tuples(st.just("move"), st.integers(0, 50), st.integers(-2, 2)),
    st.tuples(st.just("refund"), st.integers(0, 50), st.integers(0, 3)),
    st.tuples(st.just("refresh"), st.integers(0, 12)),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(_STEP, min_size=1, max_size=14))
async def test_property_writes_and_refreshes_in_any_order(sqlite_db, monkeypatch, steps):
    """Orders placed at a day's first or last instant or mid-day, cancelled, moved days, refunded
    days later, with refreshes at any moment in between (some while days are still open): the
    monthly and a daily report are the same from the rollups as from the records."""
    tz = "Asia/Kolkata"
    first = date(2026, 10, 1)
    async with sqlite_db.sessionmaker() as session:
        branch = await create_branch(session, timezone=tz)
        hats = await r.product(session, category="hats", price_minor=1250)
        orders = []
        for step in steps:
            if step[0] == "order":
                day = first + timedelta(days=step[1])
                start, end = midnight(day, tz), midnight(day + timedelta(days=1), tz)
                at = {
                    "first": start,
                    "last": end - timedelta(microseconds=1000),
                    "mid": start + (end - start) / 2,
                }[step[2]]
                orders.append(await r.order(session, branch=branch, at=at, lines=[(hats, 1)]))
            elif step[0] == "refresh":
                now = midnight(first + timedelta(days=step[1]), tz) + timedelta(hours=5)
                await rollups.refresh(
                    session, start=first, end=first + timedelta(days=12), branch_ids=[branch.id], now=now
                )
            elif orders:
                o = orders[step[1] % len(orders)]
                if step[0] == "cancel":
                    o.status = "cancelled"
                elif step[0] == "move":
                    o.placed_at += timedelta(days=step[2])
                else:
                    await r.payment(
                        session,
                        order=o,
                        kind="refund",
                        status="succeeded",
                        at=o.placed_at + timedelta(days=step[2]),
                        amount_minor=400,
                    )
            await session.flush()
        for edition, day in (("monthly", first), ("daily", first + timedelta(days=3))):
            raw, rolled = await _both_ways(
                session, monkeypatch, edition=edition, day=day, branch_ids=[branch.id]
            )
            assert rolled == raw, (edition, steps)
        await session.rollback()


@pytest.mark.parametrize("fresh_db", ["sqlite", "postgres"], indirect=True)
async def test_the_worker_loop_rebuilds_the_days_a_write_marked(fresh_db):
    """The worker's timer (`rollups.run`): a committed write's closed day gets built and its mark
    cleared without anyone asking, and the report reads it from the rollups."""
    import asyncio

    day = datetime.now(UTC).date() - timedelta(days=3)
    async with fresh_db.sessionmaker.begin() as session:
        branch = await create_branch(session, timezone="Asia/Tokyo")
        hats = await r.product(session, category="hats", price_minor=1250)
        await r.order(session, branch=branch, at=midnight(day, branch.timezone), lines=[(hats, 2)])
    loop = asyncio.create_task(rollups.run(fresh_db.sessionmaker, every=0.05))
    try:
        for _ in range(200):
            await asyncio.sleep(0.05)
            async with fresh_db.sessionmaker() as session:
                marks = await session.scalar(
                    select(func.count()).select_from(ReportRollupDirty).where(ReportRollupDirty.day == day)
                )
                built = await session.scalar(
                    select(func.count()).select_from(ReportRollupDay).where(ReportRollupDay.day == day)
                )
            if built and not marks:
                break
    finally:
        loop.cancel()
    assert built == len(rollups.registered()) and marks == 0
    async with fresh_db.sessionmaker() as session:
        report = await service.build_report(
            session, function="orders", edition="daily", day=day, branch_ids=[branch.id]
        )
    assert next(x for x in report.summary if x.measure == "placed").current.value == 1


@pytest.mark.parametrize("fresh_db", ["sqlite", "postgres"], indirect=True)
async def test_a_transaction_writes_its_marks_once_and_a_rolled_back_one_none(fresh_db):
    """Marks are noted per flush and written once, at commit: three flushes on one day give one
    mark per source; a savepoint rolled back keeps the marks noted before it; a rolled-back
    transaction leaves no mark."""
    day = datetime.now(UTC).date() - timedelta(days=5)
    orders_only = (ReportRollupDirty.source == "orders", ReportRollupDirty.day == day)

    async def marks(branch_id: int) -> int:
        async with fresh_db.sessionmaker() as session:
            return await session.scalar(
                select(func.count())
                .select_from(ReportRollupDirty)
                .where(ReportRollupDirty.branch_id == branch_id, *orders_only)
            )

    async with fresh_db.sessionmaker.begin() as session:
        branch = await create_branch(session, timezone="America/Chicago")
        other = await create_branch(session, timezone="America/Chicago")
        hats = await r.product(session, category="hats", price_minor=1250)
    at = midnight(day, branch.timezone) + timedelta(hours=10)
    async with fresh_db.sessionmaker.begin() as session:
        for _ in range(3):  # r.order flushes each time
            await r.order(session, branch=branch, at=at, lines=[(hats, 1)])
        nested = await session.begin_nested()
        await r.order(session, branch=other, at=at, lines=[(hats, 1)])
        await nested.rollback()
    assert await marks(branch.id) == 1  # the writes before the savepoint keep their mark
    assert await marks(other.id) == 1  # kept too: the day is rebuilt once more, never left stale
    async with fresh_db.sessionmaker.begin() as session:
        await session.execute(delete(ReportRollupDirty).where(ReportRollupDirty.branch_id == other.id))
    session = fresh_db.sessionmaker()
    await session.begin()
    await r.order(session, branch=other, at=at, lines=[(hats, 1)])
    await session.rollback()
    async with session.begin():  # the same session, a new transaction: nothing carried over
        await r.product(session, category="bags")
    await session.close()
    assert await marks(other.id) == 0


@pytest.mark.parametrize("fresh_db", ["sqlite", "postgres"], indirect=True)
async def test_bulk_updates_of_carts_and_parcels_mark_their_days(fresh_db):
    """The cart projection and parcel transitions are single UPDATE ... RETURNING statements, which
    no flush sees: a cart checked out today marks the day it was opened (a closed, built day), and
    a parcel shipped marks its label's and its shipping's days."""
    actor = Actor.system("test")
    opened = datetime.now(UTC) - timedelta(days=4)
    async with fresh_db.sessionmaker.begin() as session:
        branch = await create_branch(session, timezone="UTC")
        hats = await r.product(session, category="hats", price_minor=1250)
        cart = await r.cart(
            session, branch=branch, at=opened, status="open", total_minor=1250, lines=[(hats, 1)]
        )
        order = await r.order(session, branch=branch, at=opened, lines=[(hats, 1)])
        parcel = await r.parcel(session, order=order, at=opened)
    async with fresh_db.sessionmaker.begin() as session:
        await session.execute(delete(ReportRollupDirty).where(ReportRollupDirty.branch_id == branch.id))
    async with fresh_db.sessionmaker.begin() as session:
        view = CartView(cart_id=cart.id, status="checked_out", items={hats.id: 1}, version=5)
        assert await carts.project(session, actor=actor, view=view)
        shipped = await order_service.update_parcel(
            session, actor=actor, parcel_id=parcel.id, to="shipped", allowed_from=("labelled",)
        )
        assert shipped is not None
    async with fresh_db.sessionmaker() as session:
        marks = set(
            (
                await session.execute(
                    select(ReportRollupDirty.source, ReportRollupDirty.day).where(
                        ReportRollupDirty.branch_id == branch.id
                    )
                )
            ).all()
        )
    today = datetime.now(UTC).date()
    assert ("carts", opened.date()) in marks
    assert {("labels", opened.date()), ("parcels_shipped", today)} <= marks


# --- Reading: an empty answer, and a day dirtied between listing and reading ----------------------


@pytest.mark.parametrize("fresh_db", ["sqlite", "postgres"], indirect=True)
async def test_a_read_checks_its_days_in_the_same_statement_even_when_empty(fresh_db, monkeypatch):
    """`rollups.read` lists the clean days once and trusts them when the read's own check agrees,
    an empty answer included (it used to read twice more, the last time from the records). A day
    another writer dirties between the listing and the read is read again: the answer is always
    one snapshot's records (the old one with one listing, the new one with two)."""
    from sqlalchemy import func as fn

    from backroom.reports import catalog

    first, last = date(2026, 11, 16), date(2026, 11, 18)
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    async with fresh_db.sessionmaker.begin() as session:
        branch = await create_branch(session, timezone="Asia/Tokyo")
        hats = await r.product(session, category="hats", price_minor=1250)
        await r.order(session, branch=branch, at=midnight(first, branch.timezone), lines=[(hats, 1)])
        await rollups.refresh(session, start=first, end=last + timedelta(days=1), now=now)
    listings, reads = [], []
    real_clean, real_merged = rollups.clean_days, rollups.merged

    async def listing(session, rollup, keys):
        out = await real_clean(session, rollup, keys)
        listings.append(sum(len(d) for d in out.values()))
        if race["on"] and len(listings) == 1:  # another writer dirties the first day meanwhile
            async with fresh_db.sessionmaker.begin() as other:
                await r.order(other, branch=branch, at=midnight(first, branch.timezone), lines=[(hats, 1)])
        return out

    def merging(*args, **kw):
        reads.append(sum(len(d) for d in args[3].values()))
        return real_merged(*args, **kw)

    monkeypatch.setattr(rollups, "clean_days", listing)
    monkeypatch.setattr(rollups, "merged", merging)
    race = {"on": False}
    spans = [rollups.Span(branch.timezone, (branch.id,), first, last + timedelta(days=1))]

    def build(u):
        return select(u.c.branch, u.c.day, fn.sum(u.c.m0)).group_by(u.c.branch, u.c.day)

    async def placed(source: str, function: str, measure: str) -> dict:
        m = catalog.get(function).measure(measure)
        async with fresh_db.read_sessionmaker() as session:  # as the dashboard and reports read
            rows = await rollups.read(session, rollups.registered()[source], [m], spans, None, [], build)
            return {rollups.day_label(d): int(v) for _, d, v, *_ in rows}  # checks may follow

    # No carts at all: empty, from one listing of three clean days and one read.
    assert await placed("carts", "carts", "opened") == {}
    assert (listings, reads) == ([3], [3])
    listings.clear(), reads.clear()
    assert await placed("orders", "orders", "placed") == {first.isoformat(): 1}
    assert (listings, reads) == ([3], [3])
    listings.clear(), reads.clear()
    race["on"] = True
    got = await placed("orders", "orders", "placed")
    if len(listings) == 1:  # the read's snapshot predates the other write: the old records
        assert got == {first.isoformat(): 1} and reads == [3]
    else:  # it saw the write: the dirtied day left to the records, the others still rolled up
        assert got == {first.isoformat(): 2} and listings == [3, 2] and reads == [3, 2]
    if fresh_db.kind == "postgres":  # READ COMMITTED: every statement sees the latest commits
        assert len(listings) == 2


@pytest.mark.parametrize("fresh_db", ["sqlite", "postgres"], indirect=True)
async def test_a_branch_zone_is_read_once_it_committed_and_never_from_a_rolled_back_read(fresh_db):
    """Dirty marks need the branch's zone: read in the first writing transaction, known from then
    on (no read per transaction); a read in a transaction that rolled back is not kept (its
    branch may be gone, its id given to the next one on SQLite)."""
    from sqlalchemy import event

    reads: list[str] = []

    def count(conn, cursor, statement, params, context, executemany):
        if "FROM branches" in statement and "timezone" in statement:
            reads.append(statement)

    day = datetime.now(UTC).date() - timedelta(days=3)
    async with fresh_db.sessionmaker.begin() as session:
        branch = await create_branch(session, timezone="Asia/Tokyo")
        hats = await r.product(session, category="hats", price_minor=1250)
    at = midnight(day, branch.timezone) + timedelta(hours=1)  # 01:00 in Tokyo: the day before in UTC
    event.listen(fresh_db.engine.sync_engine, "before_cursor_execute", count)
    try:
        session = fresh_db.sessionmaker()
        await session.begin()
        await r.order(session, branch=branch, at=at, lines=[(hats, 1)])
        await session.flush()
        await session.run_sync(rollups._write_marks)  # the zone read, then the transaction undone
        await session.rollback()
        await session.close()
        assert len(reads) == 1
        for _ in range(2):  # the first commit reads it; the next transaction knows it
            async with fresh_db.sessionmaker.begin() as session:
                await r.order(session, branch=branch, at=at, lines=[(hats, 1)])
            assert len(reads) == 2
    finally:
        event.remove(fresh_db.engine.sync_engine, "before_cursor_execute", count)
    async with fresh_db.sessionmaker() as session:
        days = set(
            (
                await session.scalars(
                    select(ReportRollupDirty.day).where(
                        ReportRollupDirty.branch_id == branch.id, ReportRollupDirty.source == "orders"
                    )
                )
            ).all()
        )
    assert days == {day}  # Tokyo's day, from the zone known or read
