"""The loyalty report's tier distribution and tier movement, and the segments report's
members, joins, leaves and revenue per segment (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from backroom.db.base import utcnow
from backroom.loyalty import service as loyalty
from backroom.loyalty.reports import members_at
from backroom.reports import service
from backroom.segments import service as segments
from backroom.segments.schemas import Group, SegmentCreate
from tests.helpers import (
    TEST_ACTOR,
    add_order,
    create_branch,
    create_customer,
    make_member,
    make_program,
    uniq,
)


def line(report, name):
    return next(x for x in report.summary if x.measure == name).current


def by(report, label, measure):
    table = next(b for b in report.breakdowns if b.label == label)
    return {r.name: r.figures[measure].value for r in table.rows if measure in r.figures}


def money_by(report, label, measure):
    table = next(b for b in report.breakdowns if b.label == label)
    return {
        r.name: sum(m.amount_minor for m in r.figures[measure].money)
        for r in table.rows
        if measure in r.figures
    }


async def test_loyalty_report_shows_members_by_tier_and_moves_by_tier(db):
    async with db.sessionmaker.begin() as s:
        branch = await create_branch(s, timezone="UTC")
        program = await make_program(s)
        for _ in range(2):
            await make_member(s, program, branch=branch)
        rich, _ = await make_member(s, program, branch=branch)
    before_the_move = utcnow()
    async with db.sessionmaker.begin() as s:
        await loyalty.earn(
            s,
            actor=TEST_ACTOR,
            customer_id=rich.id,
            spend_minor=60_000,
            source_type="credit_sale",
            source_id=uniq("sale"),
            branch_id=branch.id,
        )
        report = await service.build_report(
            s, function="loyalty", edition="daily", day=utcnow().date(), branch_ids=[branch.id]
        )
    assert line(report, "members").value == 3
    assert by(report, "By tier", "members") == {"Bronze": 2, "Silver": 1}
    # Three joined Bronze, one moved on to Silver.
    assert by(report, "By tier", "tier_changes") == {"Bronze": 3, "Silver": 1}
    # A period that ended before the move counts the member in the tier it was in then.
    async with db.read_sessionmaker() as s:
        assert await tiers_at(s, before_the_move, branch.id) == {"Bronze": 3}
        assert await tiers_at(s, utcnow(), branch.id) == {"Bronze": 2, "Silver": 1}


async def tiers_at(session, end, branch_id) -> dict[str, int]:
    """Members per tier at `end`, straight from the report's as-of source."""
    src = members_at(end)
    rows = await session.execute(
        select(src.category, func.count())
        .select_from(src.table)
        .where(src.where, src.branch == branch_id)
        .group_by(src.category)
    )
    return dict(rows.all())


async def test_segments_report_members_joins_leaves_and_revenue_per_segment(db):
    day1, day2 = datetime(2026, 11, 10, 2, 30, tzinfo=UTC), datetime(2026, 11, 11, 2, 30, tzinfo=UTC)
    async with db.sessionmaker.begin() as s:
        branch = await create_branch(s, timezone="UTC")
        tag = uniq("seg")
        a, b, c = [await create_customer(s, branch=branch, tags=t) for t in ([tag], [tag], [])]
        seg = await segments.create_segment(
            s,
            actor=TEST_ACTOR,
            data=SegmentCreate(
                name=uniq("Loyal "),
                rules=Group.model_validate({"conditions": [{"attr": "tag", "op": "is", "value": tag}]}),
            ),
        )
        assert await segments.snapshot(s, segment_id=seg.id, now=day1) == 2  # a, b
        b.tags, c.tags = [], [tag]
        await s.flush()
        assert await segments.snapshot(s, segment_id=seg.id, now=day2) == 2  # a, c: c joined, b left
        await add_order(s, c, total_minor=5_000, placed_at=datetime(2026, 11, 11, 10, tzinfo=UTC))
        await add_order(s, b, total_minor=9_000, placed_at=datetime(2026, 11, 11, 11, tzinfo=UTC))  # left
        await add_order(s, a, total_minor=700, placed_at=datetime(2026, 11, 10, 9, tzinfo=UTC))
        month = await service.build_report(
            s, function="segmentation", edition="monthly", day=date(2026, 11, 15), branch_ids=[branch.id]
        )
        first_day = await service.build_report(
            s, function="segmentation", edition="daily", day=date(2026, 11, 10), branch_ids=[branch.id]
        )
    assert line(month, "members").value == 2
    assert line(month, "joined").value == 1 and line(month, "left").value == 1
    assert line(month, "orders").value == 2
    assert money_by(month, "By segment", "revenue") == {seg.name: 5_700}
    assert by(month, "By segment", "members") == {seg.name: 2}
    # On the first snapshot day: its members, nobody joined (a segment's first snapshot).
    assert line(first_day, "members").value == 2 and line(first_day, "joined").value == 0
