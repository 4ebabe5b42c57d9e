"""The loyalty report set: members joined, members by tier, points issued / redeemed /
expired / reversed, the money redeemed, the outstanding liability (points held at the period's
end, valued at the program's point value) and tier changes (by the tier moved to), by branch
(the member's home branch), day and tier (the report's category)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, and_, cast, func, select

from backroom.audit.models import AuditEvent
from backroom.customers.models import Customer
from backroom.loyalty.models import EntryKind, LoyaltyEntry, LoyaltyMember, LoyaltyProgram
from backroom.reports.catalog import Field, FunctionReport, Measure, Source, Unit, audit_source, register

E = LoyaltyEntry

ENTRIES = Source(
    key="loyalty_entries",
    record="ledger entry",
    table=E.__table__.join(LoyaltyMember, LoyaltyMember.id == E.member_id)
    .join(Customer, Customer.id == LoyaltyMember.customer_id)
    .join(LoyaltyProgram, LoyaltyProgram.id == LoyaltyMember.program_id),
    id=E.id,
    at=E.at,
    branch=Customer.home_branch_id,
    currency=LoyaltyProgram.currency,
    fields=(
        Field("Customer", Customer.name, personal=True),
        Field("Kind", E.kind, "code"),
        Field("Points", E.points, "number"),
        Field("Reason", E.reason),
    ),
    link=("/customers/{}", Customer.id),
)

MEMBERS = Source(
    key="loyalty_members",
    record="member",
    table=LoyaltyMember.__table__.join(Customer, Customer.id == LoyaltyMember.customer_id),
    id=LoyaltyMember.id,
    at=LoyaltyMember.created_at,
    branch=Customer.home_branch_id,
    fields=(Field("Customer", Customer.name, personal=True), Field("Enrolled by", LoyaltyMember.enrolled_by)),
    link=("/customers/{}", Customer.id),
)


def liability_at(end: datetime) -> Source:
    """Per member, the points held at `end` valued at the program's point value."""
    per_member = (
        select(
            LoyaltyMember.id.label("id"),
            func.max(E.at).label("at"),
            Customer.home_branch_id.label("branch_id"),
            LoyaltyProgram.currency.label("currency"),
            Customer.id.label("customer_id"),
            Customer.name.label("customer"),
            func.sum(E.points).label("points"),
            (func.sum(E.points) * func.max(LoyaltyProgram.point_value_minor)).label("value_minor"),
        )
        .join(E, E.member_id == LoyaltyMember.id)
        .join(Customer, Customer.id == LoyaltyMember.customer_id)
        .join(LoyaltyProgram, LoyaltyProgram.id == LoyaltyMember.program_id)
        .where(E.at < end)
        .group_by(
            LoyaltyMember.id, Customer.home_branch_id, LoyaltyProgram.currency, Customer.id, Customer.name
        )
        .subquery("loyalty_liability")
    )
    c = per_member.c
    return Source(
        key="loyalty_liability",
        record="member",
        table=per_member,
        id=c.id,
        at=c.at,
        branch=c.branch_id,
        where=c.points > 0,
        currency=c.currency,
        fields=(
            Field("Customer", c.customer, personal=True),
            Field("Points", c.points, "number"),
            Field("Value", c.value_minor, "money"),
        ),
        link=("/customers/{}", c.customer_id),
        as_of=liability_at,
    )


LIABILITY = liability_at(datetime(2000, 1, 1))
TIERS = audit_source(
    "loyalty_tier_changes",
    "tier change",
    ("loyalty.tier_change",),
    link=None,
    category=func.coalesce(AuditEvent.after["tier"].as_string(), "(no tier)"),
)
NO_TIER = "(no tier)"


def tier_at(end: datetime):
    """The tier a member was in at `end`: where its last tier change before `end` moved it
    (every change, joining included, is an audited event), else no tier."""
    moved_to = (
        select(AuditEvent.after["tier"].as_string())
        .where(
            AuditEvent.action == "loyalty.tier_change",
            AuditEvent.entity_type == "customer",
            AuditEvent.entity_id == cast(LoyaltyMember.customer_id, String),
            AuditEvent.at < end,
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(1)
        .correlate(LoyaltyMember)
        .scalar_subquery()
    )
    return func.coalesce(moved_to, NO_TIER)


def members_at(end: datetime) -> Source:
    """Members who had joined by `end`, in the tier they were in at `end` (a closed period's
    report keeps its figures when members move on later)."""
    tier = tier_at(end)
    return Source(
        key="loyalty_members_by_tier",
        record="member",
        table=LoyaltyMember.__table__.join(Customer, Customer.id == LoyaltyMember.customer_id),
        id=LoyaltyMember.id,
        at=LoyaltyMember.created_at,
        branch=Customer.home_branch_id,
        where=LoyaltyMember.created_at < end,
        category=tier,
        fields=(Field("Customer", Customer.name, personal=True), Field("Tier", tier)),
        link=("/customers/{}", Customer.id),
        as_of=members_at,
    )


BY_TIER = members_at(datetime(2000, 1, 1))

register(
    FunctionReport(
        key="loyalty",
        label="Loyalty",
        order=35,
        main="issued",
        category_label="Tier",
        measures=[
            Measure("joined", "Members joined", Unit.COUNT, MEMBERS),
            Measure(
                "members",
                "Members (by tier)",
                Unit.COUNT,
                BY_TIER,
                description="Members at the period's end, in the tier they were in then.",
            ),
            Measure(
                "issued",
                "Points issued",
                Unit.COUNT,
                ENTRIES,
                value=E.points,
                where=and_(E.award_id.is_(None), E.points > 0),
            ),
            Measure(
                "redeemed",
                "Points redeemed",
                Unit.COUNT,
                ENTRIES,
                value=-E.points,
                where=E.kind == EntryKind.redeem,
            ),
            Measure(
                "expired",
                "Points expired",
                Unit.COUNT,
                ENTRIES,
                value=-E.points,
                where=E.kind == EntryKind.expire,
            ),
            Measure(
                "reversed",
                "Points reversed (refunds)",
                Unit.COUNT,
                ENTRIES,
                value=-E.points,
                where=E.kind == EntryKind.reverse,
            ),
            Measure(
                "redeemed_value",
                "Discounts paid with points",
                Unit.MONEY,
                ENTRIES,
                value=-E.points * LoyaltyProgram.point_value_minor,
                where=E.kind == EntryKind.redeem,
            ),
            Measure(
                "liability",
                "Outstanding points liability",
                Unit.MONEY,
                LIABILITY,
                value=LIABILITY.table.c.value_minor,
                description="Points held at the period's end, at the program's point value.",
            ),
            Measure(
                "tier_changes",
                "Tier changes (by the tier moved to)",
                Unit.COUNT,
                TIERS,
                description="Moves between tiers, cut by the tier the member moved to.",
            ),
        ],
    )
)
