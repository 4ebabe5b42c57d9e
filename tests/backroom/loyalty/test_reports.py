"""The loyalty and segments report sets against the ledger written here, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from backroom.loyalty import ledger
from backroom.loyalty.models import EntryKind
from backroom.reports import service
from backroom.segments import service as segments
from backroom.segments.schemas import Group, SegmentCreate
from tests.helpers import TEST_ACTOR, create_branch, create_customer, make_member, make_program, uniq

DAY = date(2026, 11, 10)
NOON = datetime(2026, 11, 10, 12, tzinfo=UTC)


def line(report, name):
    return next(x for x in report.summary if x.measure == name).current


async def test_loyalty_report_counts_points_and_values_the_liability(db):
    async with db.sessionmaker.begin() as s:
        branch = await create_branch(s, timezone="UTC")
        program = await make_program(s, point_value_minor=2, expiry_days=1)
        _, member = await make_member(s, program, branch=branch)
        await ledger.award(s, member, points=300, kind=EntryKind.earn, expiry_days=1, key=uniq("r"), now=NOON)
        await ledger.take(s, member, points=100, kind=EntryKind.redeem, key=uniq("r"), now=NOON)
        # The day before and after: outside the period.
        await ledger.award(
            s,
            member,
            points=7,
            kind=EntryKind.earn,
            expiry_days=30,
            key=uniq("r"),
            now=NOON - timedelta(days=1),
        )
        await ledger.award(
            s,
            member,
            points=9,
            kind=EntryKind.earn,
            expiry_days=30,
            key=uniq("r"),
            now=NOON + timedelta(days=1),
        )
        report = await service.build_report(
            s, function="loyalty", edition="daily", day=DAY, branch_ids=[branch.id]
        )
    assert line(report, "issued").value == 300
    assert line(report, "redeemed").value == 100
    assert [(m.currency, m.amount_minor) for m in line(report, "redeemed_value").money if m.amount_minor] == [
        (program.currency, 200)
    ]
    # Held at the end of the day: 7 + 300 - 100 points, at 2 minor units each.
    assert [(m.currency, m.amount_minor) for m in line(report, "liability").money if m.amount_minor] == [
        (program.currency, 414)
    ]


async def test_segments_report_counts_campaigns_and_customers_reached(db):
    async with db.sessionmaker.begin() as s:
        branch = await create_branch(s, timezone="UTC")
        tag = uniq("rep")
        for _ in range(3):
            await create_customer(s, branch=branch, tags=[tag], consent_email=True)
        seg = await segments.create_segment(
            s,
            actor=TEST_ACTOR,
            data=SegmentCreate(
                name=uniq("Rep "),
                rules=Group.model_validate({"conditions": [{"attr": "tag", "op": "is", "value": tag}]}),
            ),
        )
        camp = await segments.create_campaign(
            s, actor=TEST_ACTOR, segment_id=seg.id, subject="Hi", body="Hello", branch_id=branch.id
        )
        today = camp.created_at.date()
        report = await service.build_report(
            s, function="segmentation", edition="daily", day=today, branch_ids=[branch.id]
        )
    assert line(report, "sent").value == 1
    assert line(report, "reached").value == 3
