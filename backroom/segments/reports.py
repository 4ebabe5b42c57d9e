"""The segments report set, cut by segment (the report's category) and branch: members at the
period's end and who joined or left (from the daily membership snapshots), revenue of the
orders members placed (a member on the order's UTC day, by that day's snapshot), campaigns
sent and the customers they reached, segments defined. GET /api/v1/segments/{id}/history
gives one segment's size, joins and leaves day by day."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import DateTime, and_, exists, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from backroom.customers.models import Customer
from backroom.db.base import UTCDateTime
from backroom.orders.models import Order
from backroom.reports.catalog import Field, FunctionReport, Measure, Source, Unit, audit_source, register
from backroom.segments.models import CampaignStatus, Segment, SegmentCampaign, SegmentMembership
from backroom.segments.rules import NOT_SPENT


def _arg(element, compiler, kw) -> str:
    (only,) = element.clauses
    return compiler.process(only, **kw)


class noon_utc(FunctionElement):
    """A snapshot day as the moment 12:00 UTC that day (inside the local day of any branch
    from UTC-11 to UTC+11), so day records fall in report periods like any timestamp."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(noon_utc)
def _noon_sqlite(element, compiler, **kw):
    return f"datetime({_arg(element, compiler, kw)}, '+12 hours')"


@compiles(noon_utc, "postgresql")
def _noon_pg(element, compiler, **kw):
    return f"(({_arg(element, compiler, kw)} + interval '12 hours') AT TIME ZONE 'UTC')"


class utc_day(FunctionElement):
    """The UTC calendar day of a timestamp (a snapshot's day key)."""

    type = DateTime()
    inherit_cache = True


@compiles(utc_day)
def _day_sqlite(element, compiler, **kw):
    return f"date({_arg(element, compiler, kw)})"


@compiles(utc_day, "postgresql")
def _day_pg(element, compiler, **kw):
    return f"CAST(({_arg(element, compiler, kw)} AT TIME ZONE 'UTC') AS DATE)"


M = SegmentMembership
SNAPSHOT_AT = timedelta(hours=2, minutes=30)

C = SegmentCampaign

CAMPAIGNS = Source(
    key="segment_campaigns",
    record="campaign",
    table=C.__table__.join(Segment, Segment.id == C.segment_id),
    id=C.id,
    at=C.created_at,
    branch=C.branch_id,
    user=C.requested_by_id,
    fields=(
        Field("Segment", Segment.name),
        Field("Subject", C.subject),
        Field("Recipients", C.recipients, "number"),
        Field("Status", C.status, "code"),
    ),
    link=("/segments/{}", Segment.id),
)
DEFINED = audit_source("segments_defined", "segment change", ("segment.create", "segment.update"))
MEMBER_FIELDS = (Field("Customer", Customer.name, personal=True), Field("Segment", Segment.name))
MEMBERSHIPS = M.__table__.join(Segment, Segment.id == M.segment_id).join(
    Customer, Customer.id == M.customer_id
)


def _snapshot_day(step: str):
    """The segment's snapshot day before (`prev`) or after (`next`) the row's day, or NULL."""
    other = aliased(SegmentMembership)
    agg = func.max(other.day) if step == "prev" else func.min(other.day)
    bound = other.day < M.day if step == "prev" else other.day > M.day
    return select(agg).where(other.segment_id == M.segment_id, bound).scalar_subquery()


def _in_snapshot(day) -> exists:
    other = aliased(SegmentMembership)
    return exists().where(
        other.segment_id == M.segment_id, other.customer_id == M.customer_id, other.day == day
    )


def members_at(end: datetime) -> Source:
    """Each segment's members in its last snapshot on or before the period's end."""
    taken_by = (end - SNAPSHOT_AT).date()  # snapshots are taken at 02:30 UTC of their day
    last = (
        select(M.segment_id.label("segment_id"), func.max(M.day).label("day"))
        .where(M.day <= taken_by)
        .group_by(M.segment_id)
        .subquery("last_snapshot")
    )
    table = MEMBERSHIPS.join(last, and_(last.c.segment_id == M.segment_id, last.c.day == M.day))
    return Source(
        key="segment_members",
        record="member",
        table=table,
        id=M.customer_id,
        at=noon_utc(M.day),
        branch=Customer.home_branch_id,
        category=Segment.name,
        fields=MEMBER_FIELDS,
        link=("/customers/{}", Customer.id),
        as_of=members_at,
    )


MEMBERS = members_at(datetime(2000, 1, 1))
PREV_DAY, NEXT_DAY = _snapshot_day("prev"), _snapshot_day("next")
JOINS = Source(
    key="segment_joins",
    record="member who joined",
    table=MEMBERSHIPS,
    id=M.customer_id,
    at=noon_utc(M.day),
    branch=Customer.home_branch_id,
    # Not in the segment's previous snapshot (the first snapshot of a segment is no join).
    where=and_(PREV_DAY.is_not(None), ~_in_snapshot(PREV_DAY)),
    category=Segment.name,
    fields=MEMBER_FIELDS,
    link=("/customers/{}", Customer.id),
)
LEAVES = Source(
    key="segment_leaves",
    record="member who left",
    table=MEMBERSHIPS,
    id=M.customer_id,
    at=noon_utc(NEXT_DAY),  # left on the next snapshot day
    branch=Customer.home_branch_id,
    where=and_(NEXT_DAY.is_not(None), ~_in_snapshot(NEXT_DAY)),
    category=Segment.name,
    fields=MEMBER_FIELDS,
    link=("/customers/{}", Customer.id),
)
REVENUE = Source(
    key="segment_orders",
    record="order",
    table=Order.__table__.join(
        M, and_(M.customer_id == Order.customer_id, M.day == utc_day(Order.placed_at))
    ).join(Segment, Segment.id == M.segment_id),
    id=Order.id,
    at=Order.placed_at,
    branch=Order.branch_id,
    where=Order.status.not_in(NOT_SPENT),
    currency=Order.currency,
    category=Segment.name,
    fields=(
        Field("Segment", Segment.name),
        Field("Order", Order.id, "number"),
        Field("Total", Order.total_minor, "money"),
    ),
    link=("/orders/{}", Order.id),
)

register(
    FunctionReport(
        key="segmentation",
        label="Segments and campaigns",
        order=36,
        main="reached",
        category_label="Segment",
        measures=[
            Measure(
                "members",
                "Members at the period's end",
                Unit.COUNT,
                MEMBERS,
                description="From the segment's last daily snapshot on or before the period's end.",
            ),
            Measure("joined", "Members who joined", Unit.COUNT, JOINS),
            Measure("left", "Members who left", Unit.COUNT, LEAVES),
            Measure("orders", "Orders by members", Unit.COUNT, REVENUE),
            Measure("revenue", "Revenue from members", Unit.MONEY, REVENUE, value=Order.total_minor),
            Measure("campaigns", "Campaigns", Unit.COUNT, CAMPAIGNS),
            Measure("sent", "Campaigns sent", Unit.COUNT, CAMPAIGNS, where=C.status == CampaignStatus.sent),
            Measure(
                "reached",
                "Customers e-mailed",
                Unit.COUNT,
                CAMPAIGNS,
                value=C.recipients,
                where=C.status == CampaignStatus.sent,
            ),
            Measure("changes", "Segments defined or changed", Unit.COUNT, DEFINED),
        ],
    )
)
