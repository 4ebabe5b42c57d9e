"""Compile a segment's rules (schemas.Group) to one SQLAlchemy condition over `customers`,
and explain them in words.

Spend and order-count conditions take one of two shapes. Alone or inside an OR they are
set-based semi-joins (`customers.id IN (SELECT customer_id ... GROUP BY ... HAVING ...)`): one
hash aggregate over the window's orders instead of one lookup per customer. Inside an AND with
other conditions they are a per-customer sum (`(SELECT sum(...) WHERE customer_id = c.id) >= v`)
read from the covering index ix_orders_customer_window: the database checks the cheap sibling
conditions first, so only the customers left are looked up. On a million customers with 1.5
million orders (PostgreSQL, docs/benchmarks.md) a 3-condition segment went from 2.2 s to about
1.1 s that way, while a lone spend condition is faster as the semi-join (1.4 s against 2.5 s)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Text, and_, false, func, not_, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from backroom.complaints.models import Complaint, ComplaintStatus
from backroom.credit.models import CreditAccount
from backroom.customers.models import Customer
from backroom.db.base import like_escape
from backroom.loyalty.models import LoyaltyMember, LoyaltyTier
from backroom.money import format_money
from backroom.orders.models import Order, OrderStatus
from backroom.segments.models import CustomerRfm
from backroom.segments.schemas import LABELS, Attr, Condition, Group, Op

NOT_SPENT = (OrderStatus.CANCELLED, OrderStatus.PAYMENT_FAILED, OrderStatus.REFUNDED)
OPEN = (ComplaintStatus.open, ComplaintStatus.awaiting_customer)


def _cmp(col, op: Op, value):
    return {Op.gte: col >= value, Op.lte: col <= value, Op.is_: col == value}[op]


def _orders_having(c: Condition, now: datetime, measure, narrowed: bool) -> ColumnElement:
    """Customers whose orders in the window meet the bound. `lte` includes customers with no
    order at all (spent 0): NOT IN the customers above the bound, or a sum that counts as 0.
    `narrowed`: sibling AND conditions leave few customers, so look each one up."""
    if narrowed:
        window = (
            select(func.coalesce(measure, 0))
            .where(
                Order.customer_id == Customer.id,
                Order.placed_at >= now - timedelta(days=c.days),
                Order.status.not_in(NOT_SPENT),
            )
            .correlate(Customer)
        )
        if c.attr == Attr.spend:
            window = window.where(Order.currency == c.currency)
        total = window.scalar_subquery()
        return total >= c.value if c.op == Op.gte else total <= c.value
    stmt = (
        select(Order.customer_id)
        .where(
            Order.customer_id.is_not(None),
            Order.placed_at >= now - timedelta(days=c.days),
            Order.status.not_in(NOT_SPENT),
        )
        .group_by(Order.customer_id)
    )
    if c.attr == Attr.spend:
        stmt = stmt.where(Order.currency == c.currency)
    if c.op == Op.gte:
        if c.value <= 0:  # everyone has spent (ordered) at least 0, never-buyers too
            return true()
        return Customer.id.in_(stmt.having(measure >= c.value))
    return Customer.id.not_in(stmt.having(measure > c.value))


def condition(c: Condition, now: datetime, narrowed: bool = False) -> ColumnElement:
    v = c.value
    match c.attr:
        case Attr.home_branch:
            return Customer.home_branch_id.in_([int(x) for x in v])
        case Attr.tag:
            has = func.cast(Customer.tags, Text()).like(f'%"{like_escape(v)}"%', escape="\\")
            return has if c.op == Op.is_ else not_(has)
        case Attr.consent_email:
            return Customer.consent_email.is_(v)
        case Attr.credit_on_hold:
            held = Customer.id.in_(select(CreditAccount.customer_id).where(CreditAccount.on_hold.is_(True)))
            return held if v else not_(held)
        case Attr.loyalty_tier:
            return Customer.id.in_(
                select(LoyaltyMember.customer_id)
                .join(LoyaltyTier, LoyaltyTier.id == LoyaltyMember.tier_id)
                .where(LoyaltyTier.name.in_([str(x) for x in v]))
            )
        case Attr.spend:
            return _orders_having(c, now, func.sum(Order.total_minor), narrowed)
        case Attr.orders:
            return _orders_having(c, now, func.count(Order.id), narrowed)
        case Attr.last_order_days:
            last = (
                select(Order.customer_id)
                .where(Order.customer_id.is_not(None), Order.status.not_in(NOT_SPENT))
                .group_by(Order.customer_id)
            )
            cutoff = now - timedelta(days=v)
            bound = (
                func.max(Order.placed_at) <= cutoff if c.op == Op.gte else func.max(Order.placed_at) >= cutoff
            )
            return Customer.id.in_(last.having(bound))
        case Attr.rfm_r | Attr.rfm_f | Attr.rfm_m:
            col = getattr(CustomerRfm, c.attr.value.removeprefix("rfm_"))
            return Customer.id.in_(select(CustomerRfm.customer_id).where(_cmp(col, c.op, v)))
        case Attr.open_complaints:
            stmt = (
                select(Complaint.customer_id)
                .where(Complaint.status.in_(OPEN))
                .group_by(Complaint.customer_id)
            )
            if c.op == Op.gte:
                return Customer.id.in_(stmt.having(func.count() >= v)) if v > 0 else true()
            return Customer.id.not_in(stmt.having(func.count() > v))
        case Attr.created_days:
            cutoff = now - timedelta(days=v)
            return Customer.created_at <= cutoff if c.op == Op.gte else Customer.created_at >= cutoff
    return false()  # pragma: no cover - every Attr is handled above


def compile_group(g: Group, now: datetime) -> ColumnElement:
    narrowed = g.join == "and" and len(g.conditions) > 1
    parts = [
        compile_group(x, now) if isinstance(x, Group) else condition(x, now, narrowed) for x in g.conditions
    ]
    return and_(*parts) if g.join == "and" else or_(*parts)


def where(g: Group, now: datetime) -> ColumnElement:
    """The segment as a WHERE clause over `customers` (active customers only)."""
    return and_(Customer.status == "active", compile_group(g, now))


OPS = {Op.is_: "is", Op.is_not: "is not", Op.in_: "is one of", Op.gte: "≥", Op.lte: "≤"}


def explain(g: Group, names: dict[str, dict] | None = None) -> str:
    """The rules in words, with branch names (never ids): 'Home branch is one of North AND
    (Spend over 365 days ≥ 100.00 USD OR Tag is vip)'."""
    names = names or {}
    parts = []
    for c in g.conditions:
        if isinstance(c, Group):
            parts.append(f"({explain(c, names)})")
            continue
        value = c.value
        if c.attr == Attr.home_branch:
            value = ", ".join(names.get("branches", {}).get(int(x), "a closed branch") for x in c.value)
        elif c.attr == Attr.loyalty_tier:
            value = ", ".join(str(x) for x in c.value)
        elif c.attr == Attr.spend:
            value = format_money(c.value, c.currency)
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        window = f" over {c.days} days" if c.days else ""
        parts.append(f"{LABELS[c.attr]}{window} {OPS[c.op]} {value}")
    return f" {g.join.upper()} ".join(parts)
