"""Loyalty use cases: programs, enrolment, earning and redeeming with orders and credit sales,
adjustments, tiers, expiry and its notices. The ledger's arithmetic is in ledger.py."""

from __future__ import annotations

import calendar
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.carts.discounts import Basket, Offer
from backroom.carts.pricing import DiscountLine
from backroom.catalog.models import Product
from backroom.customers.models import Customer, CustomerStatus
from backroom.customers.service import get_customer, writable
from backroom.db.base import utcnow
from backroom.errors import Conflict, InvalidInput, NotFound, Refused, not_found
from backroom.loyalty import ledger
from backroom.loyalty.errors import NotAMember, ProgramNotActive, ReasonRequired
from backroom.loyalty.flow import (
    ADJUSTMENT_WORKFLOW,
    AdjustmentDecision,
    AdjustmentInput,
    adjustment_workflow_id,
)
from backroom.loyalty.models import (
    AdjustmentStatus,
    EarnRounding,
    EnrolRule,
    EntryKind,
    LoyaltyAdjustment,
    LoyaltyEntry,
    LoyaltyMember,
    LoyaltyProgram,
    LoyaltyTier,
    ProgramStatus,
)
from backroom.loyalty.schemas import (
    AdjustmentRead,
    CardRead,
    EntryRead,
    Expiry,
    ProgramCreate,
    ProgramRead,
    ProgramUpdate,
    TierRead,
)
from backroom.money import exponent, format_money
from backroom.notifications import service as notify
from backroom.segments import service as segments
from backroom.segments.models import Segment
from backroom.starts import service as starts

REDEEM_CODE = "POINTS"  # what a customer types at checkout to pay with points
NOTICE_DAYS = (30, 7)
YEAR = timedelta(days=365)


# --- Programs ------------------------------------------------------------------------------


async def get_program(session: AsyncSession, program_id: int) -> LoyaltyProgram:
    program = await session.get(LoyaltyProgram, program_id)
    if program is None:
        raise not_found("Loyalty program", program_id)
    return program


async def tiers(session: AsyncSession, program_id: int) -> list[LoyaltyTier]:
    rows = await session.scalars(
        select(LoyaltyTier).where(LoyaltyTier.program_id == program_id).order_by(LoyaltyTier.min_spend_minor)
    )
    return list(rows.all())


async def read_program(session: AsyncSession, program: LoyaltyProgram) -> ProgramRead:
    out = ProgramRead.model_validate(program, from_attributes=True)
    out.tiers = [TierRead.model_validate(t) for t in await tiers(session, program.id)]
    return out


async def list_programs(session: AsyncSession) -> list[LoyaltyProgram]:
    return list((await session.scalars(select(LoyaltyProgram).order_by(LoyaltyProgram.id))).all())


async def create_program(session: AsyncSession, *, actor: Actor, data: ProgramCreate) -> LoyaltyProgram:
    names = [t.name.casefold() for t in data.tiers]
    if len(set(names)) != len(names):
        raise Refused("Two tiers have the same name.", field="tiers")
    fields = data.model_dump(exclude={"tiers", "excluded_categories"})
    await _check_rules(session, fields)
    program = LoyaltyProgram(
        **fields, excluded_categories=",".join(data.excluded_categories), created_by_id=actor.user_id
    )
    session.add(program)
    await session.flush()
    for t in data.tiers:
        session.add(LoyaltyTier(program_id=program.id, **t.model_dump()))
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="loyalty_program.create",
        entity_type="loyalty_program",
        entity_id=program.id,
        after=audit.snapshot(program),
    )
    return program


async def update_program(
    session: AsyncSession, *, actor: Actor, program_id: int, data: ProgramUpdate
) -> LoyaltyProgram:
    """Change a program's terms. Awards already written keep their own expiry date: a new
    expiry period reaches future awards only."""
    program = await get_program(session, program_id)
    before = audit.snapshot(program)
    changes = data.model_dump(exclude_none=True)
    await _check_rules(session, {**audit.snapshot(program), **changes})
    for k, v in changes.items():
        setattr(program, k, v)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="loyalty_program.update",
        entity_type="loyalty_program",
        entity_id=program.id,
        before=before,
        after=audit.snapshot(program),
    )
    return program


async def _check_rules(session: AsyncSession, terms: dict) -> None:
    """Enrolment by segment needs the segment; named segments must exist."""
    if terms.get("enrol_rule") == EnrolRule.segment and not terms.get("enrol_segment_id"):
        raise InvalidInput("Choose the segment whose customers are enrolled.", field="enrol_segment_id")
    for field in ("enrol_segment_id", "bonus_segment_id"):
        if terms.get(field) and await session.get(Segment, terms[field]) is None:
            raise NotFound("That customer segment does not exist.", field=field)


async def activate_program(session: AsyncSession, *, actor: Actor, program_id: int) -> LoyaltyProgram:
    """One active program per currency."""
    program = await get_program(session, program_id)
    if program.status == ProgramStatus.active:
        return program
    other = await session.scalar(
        select(LoyaltyProgram).where(
            LoyaltyProgram.currency == program.currency,
            LoyaltyProgram.status == ProgramStatus.active,
            LoyaltyProgram.id != program.id,
        )
    )
    if other:
        raise Conflict(f"{other.name} is already the active program for {program.currency}.")
    before = audit.snapshot(program)
    program.status = ProgramStatus.active
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="loyalty_program.activate",
        entity_type="loyalty_program",
        entity_id=program.id,
        before=before,
        after=audit.snapshot(program),
    )
    return program


async def active_program(session: AsyncSession, currency: str) -> LoyaltyProgram | None:
    return await session.scalar(
        select(LoyaltyProgram).where(
            LoyaltyProgram.currency == currency, LoyaltyProgram.status == ProgramStatus.active
        )
    )


# --- Members -------------------------------------------------------------------------------


async def member_of(session: AsyncSession, customer_id: int) -> LoyaltyMember | None:
    """The customer's membership of the active program in their currency."""
    customer = await session.get(Customer, customer_id)
    if customer is None:
        return None
    program = await active_program(session, customer.currency)
    if program is None:
        return None
    return await session.scalar(
        select(LoyaltyMember).where(
            LoyaltyMember.program_id == program.id, LoyaltyMember.customer_id == customer_id
        )
    )


def check_birthday(month: int | None, day: int | None) -> None:
    """Both or neither, and a real day of the year (29 February included). Pure."""
    if (month is None) != (day is None):
        raise Refused("Give the birthday's month and day, or neither.", field="birth_day")
    if month is not None:
        try:
            date(2000, month, day)
        except ValueError:
            raise InvalidInput("That is not a day of the year.", field="birth_day") from None


async def bonus_allowed(session: AsyncSession, program: LoyaltyProgram, customer_id: int) -> bool:
    """Welcome and birthday bonuses go to the program's bonus segment only, when it names one
    (membership as the segment's rules say now). Read-only."""
    if program.bonus_segment_id is None:
        return True
    return await segments.segment_contains(session, program.bonus_segment_id, customer_id)


async def enrol(
    session: AsyncSession,
    *,
    actor: Actor,
    customer_id: int,
    consent: bool,
    by: str = "staff",
    now: datetime | None = None,
    birth_month: int | None = None,
    birth_day: int | None = None,
) -> LoyaltyMember:
    """Enrol a customer in the active program of their currency (with their consent, or by
    rule). Welcome points, if the program gives any (and the customer is in its bonus segment,
    if it names one). Idempotent."""
    now = now or utcnow()
    check_birthday(birth_month, birth_day)
    customer = await writable(session, customer_id)
    if not consent and by != "rule":
        raise Refused("The customer's consent to join is required.", field="consent")
    program = await active_program(session, customer.currency)
    if program is None:
        raise ProgramNotActive(f"There is no active loyalty program in {customer.currency}.")
    existing = await member_of(session, customer_id)
    if existing:
        return existing
    member = LoyaltyMember(
        program_id=program.id,
        customer_id=customer.id,
        consent_at=now if consent else None,
        enrolled_by=by,
        birth_month=birth_month,
        birth_day=birth_day,
    )
    session.add(member)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="loyalty.enrol",
        entity_type="customer",
        entity_id=customer.id,
        branch_id=customer.home_branch_id,
        after={"program": program.name, "by": by, "consent": consent},
    )
    if program.welcome_points and await bonus_allowed(session, program, customer.id):
        await ledger.award(
            session,
            member,
            points=program.welcome_points,
            kind=EntryKind.earn,
            expiry_days=program.expiry_days,
            key=f"welcome:{member.id}",
            now=now,
            reason="Welcome bonus",
            source_type="welcome",
            source_id=str(member.id),
        )
    await recompute_tier(session, actor=actor, member=member, now=now)
    return member


async def set_birthday(
    session: AsyncSession, *, actor: Actor, customer_id: int, birth_month: int | None, birth_day: int | None
) -> LoyaltyMember:
    """Record (or clear) a member's birthday, month and day only. Idempotent."""
    check_birthday(birth_month, birth_day)
    member = await _member_or_refuse(session, customer_id)
    if (member.birth_month, member.birth_day) == (birth_month, birth_day):
        return member
    member.birth_month, member.birth_day = birth_month, birth_day
    await session.flush()
    customer = await get_customer(session, customer_id)
    await audit.record(
        session,
        actor=actor,
        action="loyalty.birthday",
        entity_type="customer",
        entity_id=customer_id,
        branch_id=customer.home_branch_id,
        after={"birthday": f"{birth_month}-{birth_day}" if birth_month else None},
    )
    return member


async def member_for_purchase(
    session: AsyncSession, *, actor: Actor, customer_id: int, now: datetime | None = None
) -> LoyaltyMember | None:
    """The member a purchase earns for: the existing membership, or, when the program enrols
    on the first purchase, a new one (enrolled by rule, no consent asked). Idempotent."""
    member = await member_of(session, customer_id)
    if member is not None:
        return member
    customer = await session.get(Customer, customer_id)
    if customer is None or customer.status != CustomerStatus.active:
        return None
    program = await active_program(session, customer.currency)
    if program is None or program.enrol_rule != EnrolRule.first_purchase:
        return None
    return await enrol(session, actor=actor, customer_id=customer_id, consent=False, by="rule", now=now)


async def enrol_by_rule(
    session: AsyncSession, *, actor: Actor, now: datetime, after_id: int = 0, batch: int = 500
) -> int | None:
    """One batch of the nightly enrolment: customers (id > after_id) in the enrolment segment
    of the active program of their currency, not yet members, join by rule. Returns the last
    customer id seen, or None when there are no more. Idempotent."""
    programs = (
        await session.scalars(
            select(LoyaltyProgram).where(
                LoyaltyProgram.status == ProgramStatus.active,
                LoyaltyProgram.enrol_rule == EnrolRule.segment,
                LoyaltyProgram.enrol_segment_id.is_not(None),
            )
        )
    ).all()
    if not programs:
        return None
    wanted = or_(
        *[
            and_(Customer.currency == p.currency, await segments.clause(session, p.enrol_segment_id, now=now))
            for p in programs
        ]
    )
    joined = exists().where(
        LoyaltyMember.customer_id == Customer.id,
        LoyaltyMember.program_id.in_([p.id for p in programs]),
    )
    ids = (
        await session.scalars(
            select(Customer.id)
            .where(Customer.id > after_id, wanted, ~joined)
            .order_by(Customer.id)
            .limit(batch)
        )
    ).all()
    for cid in ids:
        await enrol(session, actor=actor, customer_id=cid, consent=False, by="rule", now=now)
    return ids[-1] if ids else None


def _birthdays_on(day: date):
    """Members whose birthday is `day` (29 February ones on 28 February in other years)."""
    cond = and_(LoyaltyMember.birth_month == day.month, LoyaltyMember.birth_day == day.day)
    if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
        cond = or_(cond, and_(LoyaltyMember.birth_month == 2, LoyaltyMember.birth_day == 29))
    return cond


async def birthday_batch(
    session: AsyncSession, *, actor: Actor, now: datetime, after_id: int = 0, batch: int = 500
) -> int | None:
    """One batch of the nightly birthday bonuses: members (id > after_id) whose birthday is
    today (UTC day of `now`) get the program's birthday points (once a year, only within the
    bonus segment if the program names one) and, with e-mail consent, a greeting. Returns the
    last member id seen, or None when there are no more. Idempotent (one award per year)."""
    rows = (
        await session.execute(
            select(LoyaltyMember, LoyaltyProgram)
            .join(LoyaltyProgram, LoyaltyProgram.id == LoyaltyMember.program_id)
            .where(
                LoyaltyMember.id > after_id,
                LoyaltyProgram.status == ProgramStatus.active,
                LoyaltyProgram.birthday_points > 0,
                _birthdays_on(now.date()),
            )
            .order_by(LoyaltyMember.id)
            .limit(batch)
        )
    ).all()
    for member, program in rows:
        if not await bonus_allowed(session, program, member.customer_id):
            continue
        entry = await ledger.award(
            session,
            member,
            points=program.birthday_points,
            kind=EntryKind.earn,
            expiry_days=program.expiry_days,
            key=f"birthday:{member.id}:{now.year}",
            now=now,
            reason="Birthday bonus",
            source_type="birthday",
            source_id=f"{member.id}:{now.year}",
        )
        if entry is None:
            continue
        customer = await get_customer(session, member.customer_id)
        await audit.record(
            session,
            actor=actor,
            action="loyalty.birthday_bonus",
            entity_type="customer",
            entity_id=customer.id,
            branch_id=customer.home_branch_id,
            after={"points": program.birthday_points},
        )
        if customer.consent_email:
            await notify.enqueue(
                session,
                kind="loyalty_birthday",
                subject=f"Happy birthday: {program.birthday_points} points from us",
                body=f"Dear {customer.name},\n\nhappy birthday! {program.birthday_points} points are on "
                "your loyalty card; use them on your next order by entering POINTS at checkout.",
                to_customer_id=customer.id,
                branch_id=customer.home_branch_id,
                dedupe_key=f"loyalty-birthday:{member.id}:{now.year}",
            )
    return rows[-1][0].id if rows else None


async def _member_or_refuse(session: AsyncSession, customer_id: int) -> LoyaltyMember:
    member = await member_of(session, customer_id)
    if member is None:
        customer = await get_customer(session, customer_id)
        raise NotAMember(f"{customer.name} is not a member of the loyalty program.")
    return member


# --- Earning -------------------------------------------------------------------------------


def points_for(program: LoyaltyProgram, spend_minor: int, multiplier_percent: int = 100) -> int:
    """Points for qualifying spend: per whole currency unit, the spend rounded to units by the
    program's rule, times the tier's multiplier (rounded down). Pure."""
    unit = 10 ** exponent(program.currency)
    rounding = program.earn_rounding or EarnRounding.down
    if rounding == EarnRounding.up:
        units = -(-spend_minor // unit)
    elif rounding == EarnRounding.nearest:
        units = (spend_minor + unit // 2) // unit
    else:
        units = spend_minor // unit
    return units * program.points_per_unit * multiplier_percent // 100


async def earn(
    session: AsyncSession,
    *,
    actor: Actor,
    customer_id: int,
    spend_minor: int,
    source_type: str,
    source_id: str,
    branch_id: int | None,
    now: datetime | None = None,
) -> LoyaltyEntry | None:
    """Award points for a purchase (once per source). Nothing for a non-member or no spend."""
    now = now or utcnow()
    if spend_minor <= 0:
        return None
    member = await member_for_purchase(session, actor=actor, customer_id=customer_id, now=now)
    if member is None:
        return None
    program = await get_program(session, member.program_id)
    channel = "online" if source_type == "order" else "credit"
    if program.channels not in ("both", channel):
        return None
    tier = await session.get(LoyaltyTier, member.tier_id) if member.tier_id else None
    points = points_for(program, spend_minor, tier.multiplier_percent if tier else 100)
    if points <= 0:
        return None
    entry = await ledger.award(
        session,
        member,
        points=points,
        kind=EntryKind.earn,
        expiry_days=program.expiry_days,
        key=f"earn:{source_type}:{source_id}",
        now=now,
        spend_minor=spend_minor,
        source_type=source_type,
        source_id=source_id,
        branch_id=branch_id,
    )
    if entry:
        await audit.record(
            session,
            actor=actor,
            action="loyalty.earn",
            entity_type="customer",
            entity_id=customer_id,
            branch_id=branch_id,
            after={"points": points, "source": f"{source_type} {source_id}"},
        )
        await recompute_tier(session, actor=actor, member=member, now=now)
    return entry


async def qualifying_spend(session: AsyncSession, order, program: LoyaltyProgram) -> int:
    """What an order spent on items that earn: lines outside the excluded categories, less
    their share of the order's discount."""
    from backroom.orders.models import OrderLine

    excluded = {c.strip().casefold() for c in program.excluded_categories.split(",") if c.strip()}
    rows = await session.execute(
        select(OrderLine.line_total_minor, Product.category)
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id == order.id)
    )
    lines = rows.all()
    total = sum(t for t, _ in lines)
    eligible = sum(t for t, c in lines if (c or "").casefold() not in excluded)
    if not total:
        return 0
    return eligible * (total - order.discount_minor) // total


async def earn_for_order(session: AsyncSession, *, actor: Actor, order, now: datetime | None = None) -> None:
    if order.customer_id is None:
        return
    member = await member_for_purchase(session, actor=actor, customer_id=order.customer_id, now=now)
    if member is None:
        return
    program = await get_program(session, member.program_id)
    spend = await qualifying_spend(session, order, program)
    entry = await earn(
        session,
        actor=actor,
        customer_id=order.customer_id,
        spend_minor=spend,
        source_type="order",
        source_id=str(order.id),
        branch_id=order.branch_id,
        now=now,
    )
    if entry is not None and order.refunded_minor:  # part was refunded before the points came
        await claw_back_order(session, actor=actor, order=order, full=False, now=now)


def refunded_share(order, *, full: bool = False) -> tuple[int, int]:
    """The part of an order refunded so far, as (numerator, denominator) of the money taken:
    (1, 1) for a whole refund. Pure."""
    base = order.captured_minor or order.total_minor
    if full or base <= 0:
        return 1, 1
    return min(order.refunded_minor, base), base


async def claw_back_order(
    session: AsyncSession, *, actor: Actor, order, full: bool = True, now: datetime | None = None
) -> None:
    """A refunded order's points are taken back in proportion to the money refunded (all of
    them for a whole refund); what was already spent becomes debt. Idempotent per refunded
    share: partial refunds then a whole one take the award exactly once in total."""
    now = now or utcnow()
    if order.customer_id is None or (member := await member_of(session, order.customer_id)) is None:
        return
    num, den = refunded_share(order, full=full)
    if num <= 0:
        return
    taken, debt = await ledger.claw_back(
        session,
        member,
        source_type="order",
        source_id=str(order.id),
        share=(num, den),
        key=f"clawback:order:{order.id}:{num}/{den}",
        now=now,
    )
    if taken or debt:
        await audit.record(
            session,
            actor=actor,
            action="loyalty.claw_back",
            entity_type="customer",
            entity_id=order.customer_id,
            branch_id=order.branch_id,
            after={"order": order.id, "points": taken, "debt": debt, "refunded_share": f"{num}/{den}"},
        )
    await recompute_tier(session, actor=actor, member=member, now=now)


async def hold_order(session: AsyncSession, *, actor: Actor, order, held: bool, reason: str) -> int:
    """Put the points an order earned on hold while its payment is disputed at the bank
    (`held=True`), or release them when the dispute closes. Idempotent; audited when
    something changed. Returns the unspent points whose state changed."""
    if order.customer_id is None or (member := await member_of(session, order.customer_id)) is None:
        return 0
    changed = await ledger.hold(
        session, member, source_type="order", source_id=str(order.id), now=utcnow() if held else None
    )
    if changed:
        await audit.record(
            session,
            actor=actor,
            action="loyalty.hold" if held else "loyalty.release",
            entity_type="customer",
            entity_id=order.customer_id,
            branch_id=order.branch_id,
            after={"order": order.id, "points": changed, "reason": reason},
        )
    return changed


# --- Redeeming -----------------------------------------------------------------------------


async def offer(session: AsyncSession, basket: Basket, earlier: list[DiscountLine]) -> Offer:
    """The discount line for points, when the customer typed POINTS: as many points as they
    have, within the program's minimum and its maximum share of the order (after coupons)."""
    if REDEEM_CODE not in basket.codes:
        return Offer()
    if basket.customer_id is None:
        return Offer(refused={REDEEM_CODE: "Sign in (or give the customer) to pay with points."})
    member = await member_of(session, basket.customer_id)
    if member is None:
        return Offer(refused={REDEEM_CODE: "Only loyalty members can pay with points."})
    program = await get_program(session, member.program_id)
    if program.currency != basket.currency:
        return Offer(refused={REDEEM_CODE: f"Points pay for {program.currency} orders only."})
    have = await ledger.available(session, member.id, utcnow())
    if have < program.min_redeem_points:
        return Offer(
            refused={REDEEM_CODE: f"At least {program.min_redeem_points} points are needed; you have {have}."}
        )
    items = sum(ln.qty * ln.unit_price_minor for ln in basket.lines)
    before = sum(d.amount_minor for d in earlier)  # coupons' fixed amounts; percentages after
    ceiling = max(0, items - before) * program.max_redeem_percent // 100
    points = min(have, ceiling // program.point_value_minor)
    if points < program.min_redeem_points:
        return Offer(refused={REDEEM_CODE: "This order is too small to pay for with points."})
    amount = points * program.point_value_minor
    return Offer(
        lines=[
            DiscountLine(
                code=REDEEM_CODE,
                source="loyalty",
                label=f"{points} points ({format_money(amount, program.currency)})",
                amount_minor=amount,
                cap_minor=amount,
            )
        ]
    )


async def redeem_for_order(session: AsyncSession, *, actor: Actor, order, amount_minor: int) -> int:
    """Take the points an order's loyalty discount stands for (FIFO), in the placing
    transaction; refused (and the order with it) if they are no longer there."""
    if not amount_minor or order.customer_id is None:
        return 0
    member = await _member_or_refuse(session, order.customer_id)
    program = await get_program(session, member.program_id)
    points = -(-amount_minor // program.point_value_minor)
    taken = await ledger.take(
        session,
        member,
        points=points,
        kind=EntryKind.redeem,
        key=f"redeem:order:{order.id}",
        now=utcnow(),
        source_type="order",
        source_id=str(order.id),
        branch_id=order.branch_id,
    )
    await audit.record(
        session,
        actor=actor,
        action="loyalty.redeem",
        entity_type="customer",
        entity_id=order.customer_id,
        branch_id=order.branch_id,
        after={"order": order.id, "points": taken},
    )
    return taken


async def give_back_order(session: AsyncSession, *, actor: Actor, order) -> int:
    """A cancelled (or failed) order returns the points it used. Idempotent."""
    if order.customer_id is None or (member := await member_of(session, order.customer_id)) is None:
        return 0
    back = await ledger.give_back(
        session,
        member,
        source_type="order",
        source_id=str(order.id),
        key=f"giveback:order:{order.id}",
        now=utcnow(),
    )
    if back:
        await audit.record(
            session,
            actor=actor,
            action="loyalty.give_back",
            entity_type="customer",
            entity_id=order.customer_id,
            branch_id=order.branch_id,
            after={"order": order.id, "points": back},
        )
    return back


# --- Adjustments ---------------------------------------------------------------------------


async def adjust(
    session: AsyncSession,
    *,
    actor: Actor,
    customer_id: int,
    points: int,
    reason: str,
    key: str | None = None,
    approved: bool = False,
    now: datetime | None = None,
) -> AdjustmentRead:
    """A staff correction with a reason. Above the program's threshold it needs an approval
    (`approved` is set by the approval workflow's activity); below, it applies at once."""
    now = now or utcnow()
    if not reason.strip():
        raise ReasonRequired("Say why the points are adjusted.", field="reason")
    if points == 0:
        raise Refused("An adjustment of 0 points changes nothing.", field="points")
    if not approved:  # an approved adjustment was asked for before any erasure
        await writable(session, customer_id)
    member = await _member_or_refuse(session, customer_id)
    program = await get_program(session, member.program_id)
    if abs(points) > program.adjust_approval_points and not approved:
        req = await _request_adjustment(session, actor=actor, member=member, points=points, reason=reason)
        return AdjustmentRead(
            status="pending_approval",
            points=points,
            balance=await ledger.balance(session, member.id),
            adjustment_id=req.id,
        )
    key = key or f"adjust:{member.id}:{uuid.uuid4().hex}"
    if points > 0:
        await ledger.award(
            session,
            member,
            points=points,
            kind=EntryKind.adjust,
            expiry_days=program.expiry_days,
            key=key,
            now=now,
            reason=reason,
            source_type="staff",
            source_id=str(actor.user_id or actor.name),
        )
    else:
        await ledger.take(
            session,
            member,
            points=-points,
            kind=EntryKind.adjust,
            key=key,
            now=now,
            reason=reason,
            source_type="staff",
            source_id=str(actor.user_id or actor.name),
        )
    customer = await get_customer(session, customer_id)
    await audit.record(
        session,
        actor=actor,
        action="loyalty.adjust",
        entity_type="customer",
        entity_id=customer_id,
        branch_id=customer.home_branch_id,
        after={"points": points, "reason": reason},
    )
    return AdjustmentRead(status="applied", points=points, balance=await ledger.balance(session, member.id))


async def _request_adjustment(
    session: AsyncSession, *, actor: Actor, member: LoyaltyMember, points: int, reason: str
) -> LoyaltyAdjustment:
    """Record an adjustment above the threshold and start its approval workflow (outbox)."""
    customer = await get_customer(session, member.customer_id)
    req = LoyaltyAdjustment(
        member_id=member.id,
        customer_id=customer.id,
        branch_id=customer.home_branch_id,
        points=points,
        reason=reason,
        status=AdjustmentStatus.pending,
        requested_by_id=actor.user_id,
    )
    session.add(req)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="loyalty.adjust_request",
        entity_type="customer",
        entity_id=customer.id,
        branch_id=customer.home_branch_id,
        after={"points": points, "reason": reason, "adjustment": req.id},
    )
    await starts.enqueue(
        session,
        run=ADJUSTMENT_WORKFLOW,
        arg=AdjustmentInput(
            adjustment_id=req.id,
            customer_id=customer.id,
            customer_name=customer.name,
            branch_id=customer.home_branch_id,
            points=points,
            reason=reason,
            requested_by_id=actor.user_id or 0,
            requested_by_name=actor.name,
        ),
        workflow_id=adjustment_workflow_id(req.id),
        branch_id=customer.home_branch_id,
        customer_id=customer.id,
    )
    return req


async def decide_adjustment(session: AsyncSession, *, actor: Actor, decision: AdjustmentDecision) -> None:
    """The approval workflow's outcome: apply an approved adjustment once; close the others."""
    req = await session.get(LoyaltyAdjustment, decision.adjustment_id)
    if req is None:
        raise not_found("Loyalty adjustment", decision.adjustment_id)
    if req.status != AdjustmentStatus.pending:
        return
    req.decided_by_id = decision.decided_by_id
    if decision.status == "approved":
        await adjust(
            session,
            actor=actor,
            customer_id=req.customer_id,
            points=req.points,
            reason=req.reason,
            key=f"adjustment:{req.id}",
            approved=True,
        )
        req.status = AdjustmentStatus.applied
    else:
        req.status = AdjustmentStatus.rejected if decision.status == "rejected" else AdjustmentStatus.expired
        await audit.record(
            session,
            actor=actor,
            action=f"loyalty.adjust_{req.status}",
            entity_type="customer",
            entity_id=req.customer_id,
            branch_id=req.branch_id,
            after={"adjustment": req.id, "points": req.points},
        )
    await session.flush()


# --- Tiers ---------------------------------------------------------------------------------


async def spend_12m(session: AsyncSession, member_id: int, now: datetime) -> int:
    return int(
        await session.scalar(
            select(func.coalesce(func.sum(LoyaltyEntry.spend_minor), 0)).where(
                LoyaltyEntry.member_id == member_id, LoyaltyEntry.at > now - YEAR
            )
        )
    )


async def recompute_tier(
    session: AsyncSession, *, actor: Actor, member: LoyaltyMember, now: datetime
) -> bool:
    """Put the member in the highest tier their rolling 12-month spend reaches. A change is
    audited on the customer (their timeline) and the member is told. Returns True on a change."""
    spend = await spend_12m(session, member.id, now)
    reached = [t for t in await tiers(session, member.program_id) if t.min_spend_minor <= spend]
    tier = reached[-1] if reached else None
    new_id = tier.id if tier else None
    if new_id == member.tier_id:
        return False
    old = await session.get(LoyaltyTier, member.tier_id) if member.tier_id else None
    member.tier_id = new_id
    await session.flush()
    customer = await get_customer(session, member.customer_id)
    await audit.record(
        session,
        actor=actor,
        action="loyalty.tier_change",
        entity_type="customer",
        entity_id=customer.id,
        branch_id=customer.home_branch_id,
        before={"tier": old.name if old else None},
        after={"tier": tier.name if tier else None},
    )
    if customer.consent_email and tier is not None and old is not None:  # not on joining
        await notify.enqueue(
            session,
            kind="loyalty_tier",
            subject=f"You are now {tier.name}",
            body=f"Dear {customer.name},\n\nyour loyalty tier is now {tier.name}. {tier.perks}".strip(),
            to_customer_id=customer.id,
            branch_id=customer.home_branch_id,
            dedupe_key=f"loyalty-tier:{member.id}:{tier.id}:{now.date().isoformat()}",
        )
    return True


async def recompute_all_tiers(
    session: AsyncSession, *, actor: Actor, now: datetime, after_id: int = 0, batch: int = 500
) -> int | None:
    """One batch of the nightly tier run (rolling spend moves with the calendar). Returns the
    last member id done, or None when there are no more."""
    members = (
        await session.scalars(
            select(LoyaltyMember).where(LoyaltyMember.id > after_id).order_by(LoyaltyMember.id).limit(batch)
        )
    ).all()
    for m in members:
        await recompute_tier(session, actor=actor, member=m, now=now)
    return members[-1].id if members else None


# --- Expiry --------------------------------------------------------------------------------


async def expire_batch(
    session: AsyncSession, *, actor: Actor, now: datetime, after_id: int = 0, batch: int = 500
) -> tuple[int | None, int]:
    """One batch of the daily expiry run: members (id > after_id) holding awards past their
    date lose what is left of them. Returns (last member id seen or None, points expired)."""
    remaining = LoyaltyEntry.points + ledger._remaining_subquery()
    ids = (
        await session.scalars(
            select(LoyaltyEntry.member_id)
            .where(
                LoyaltyEntry.member_id > after_id,
                LoyaltyEntry.award_id.is_(None),
                LoyaltyEntry.points > 0,
                LoyaltyEntry.expires_at <= now,
                remaining > 0,
            )
            .group_by(LoyaltyEntry.member_id)
            .order_by(LoyaltyEntry.member_id)
            .limit(batch)
        )
    ).all()
    total = 0
    for mid in ids:
        member = await session.get(LoyaltyMember, mid)
        expired = await ledger.expire_due(session, member, now)
        if expired:
            customer = await session.get(Customer, member.customer_id)
            await audit.record(
                session,
                actor=actor,
                action="loyalty.expire",
                entity_type="customer",
                entity_id=member.customer_id,
                branch_id=customer.home_branch_id if customer else None,
                after={"points": expired},
            )
        total += expired
    return (ids[-1] if ids else None), total


async def send_expiry_notices(session: AsyncSession, *, now: datetime) -> int:
    """Tell members whose points expire in 30 or 7 days (one message per member, day and
    notice; only to customers who agreed to e-mail). Returns messages queued."""
    sent = 0
    remaining = (LoyaltyEntry.points + ledger._remaining_subquery()).label("remaining")
    for days in NOTICE_DAYS:
        start = now + timedelta(days=days)
        rows = await session.execute(
            select(LoyaltyEntry.member_id, func.sum(remaining), func.min(LoyaltyEntry.expires_at))
            .where(
                LoyaltyEntry.award_id.is_(None),
                LoyaltyEntry.points > 0,
                LoyaltyEntry.expires_at > start,
                LoyaltyEntry.expires_at <= start + timedelta(days=1),
                remaining > 0,
            )
            .group_by(LoyaltyEntry.member_id)
        )
        for member_id, points, when in rows.all():
            member = await session.get(LoyaltyMember, member_id)
            customer = await session.get(Customer, member.customer_id)
            if not customer or not customer.consent_email:
                continue
            row = await notify.enqueue(
                session,
                kind="loyalty_expiry",
                subject=f"{points} of your points expire in {days} days",
                body=f"Dear {customer.name},\n\n{points} loyalty points expire on {when:%d %b %Y}. "
                "Use them on your next order by entering POINTS at checkout.",
                to_customer_id=customer.id,
                branch_id=customer.home_branch_id,
                dedupe_key=f"loyalty-expiry:{member_id}:{days}:{start.date().isoformat()}",
            )
            sent += row is not None
    return sent


async def card_for_order(session: AsyncSession, order) -> CardRead | None:
    """The storefront has no customer sign-in: its order page (whose secret link is the key)
    shows the points of the order's customer, or of the one active customer with the e-mail
    the order was placed with."""
    customer_id = order.customer_id
    if customer_id is None and order.email:
        ids = (
            await session.scalars(
                select(Customer.id)
                .where(
                    Customer.email_norm == order.email.strip().lower(),
                    Customer.status == CustomerStatus.active,
                )
                .limit(2)
            )
        ).all()
        customer_id = ids[0] if len(ids) == 1 else None
    return await card(session, customer_id, limit=0) if customer_id else None


# --- The member's card ---------------------------------------------------------------------


async def card(
    session: AsyncSession, customer_id: int, *, now: datetime | None = None, limit: int = 50
) -> CardRead | None:
    now = now or utcnow()
    member = await member_of(session, customer_id)
    if member is None:
        return None
    program = await get_program(session, member.program_id)
    spend = await spend_12m(session, member.id, now)
    all_tiers = await tiers(session, program.id)
    tier = next((t for t in all_tiers if t.id == member.tier_id), None)
    nxt = next((t for t in all_tiers if t.min_spend_minor > spend), None)
    bal = await ledger.balance(session, member.id)
    awards = await ledger.open_awards(session, member.id, now)
    soon = [
        Expiry(expires_at=a.expires_at, points=r)
        for a, r in awards
        if a.expires_at <= now + timedelta(days=60)
    ]
    entries = await session.scalars(
        select(LoyaltyEntry)
        .where(LoyaltyEntry.member_id == member.id)
        .order_by(LoyaltyEntry.id.desc())
        .limit(limit)
    )
    return CardRead(
        member_id=member.id,
        customer_id=customer_id,
        program=program.name,
        currency=program.currency,
        balance=bal,
        balance_value_minor=bal * program.point_value_minor,
        on_hold=await ledger.held(session, member.id),
        debt_points=member.debt_points,
        tier=tier.name if tier else None,
        spend_12m_minor=spend,
        next_tier=nxt.name if nxt else None,
        to_next_tier_minor=(nxt.min_spend_minor - spend) if nxt else None,
        expiring=soon,
        ledger=[EntryRead.model_validate(e) for e in entries.all() if e.points],
        birthday=f"{member.birth_day} {calendar.month_name[member.birth_month]}"
        if member.birth_month
        else None,
    )
