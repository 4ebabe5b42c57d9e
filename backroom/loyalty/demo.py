"""Demo loyalty: "Backroom Rewards" (USD) with Bronze, Silver and Gold, and members with
histories: earnings months ago, a redemption, and points that expire within the month (so the
card and the 30-day notice have something to show) and a birthday bonus due in three days.
Idempotent (by program name)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backroom.audit.context import Actor
from backroom.customers.models import Customer
from backroom.db.base import utcnow
from backroom.loyalty import ledger, service
from backroom.loyalty.models import EntryKind, LoyaltyProgram
from backroom.loyalty.schemas import ProgramCreate, TierIn

ACTOR = Actor.system("seed")
PROGRAM = ProgramCreate(
    name="Backroom Rewards",
    currency="USD",
    points_per_unit=1,
    expiry_days=365,
    welcome_points=50,
    birthday_points=100,
    point_value_minor=1,
    min_redeem_points=100,
    max_redeem_percent=50,
    adjust_approval_points=1000,
    excluded_categories=["Gift cards"],
    tiers=[
        TierIn(name="Bronze", min_spend_minor=0, multiplier_percent=100),
        TierIn(
            name="Silver",
            min_spend_minor=50_000,
            multiplier_percent=125,
            perks="Free shipping on every order",
        ),
        TierIn(
            name="Gold",
            min_spend_minor=200_000,
            multiplier_percent=150,
            perks="Early access and free shipping",
        ),
    ],
)
# (customer e-mail, [(days ago, spend)], points redeemed, days until the oldest award expires,
#  days until the birthday or None)
HISTORIES = (
    ("dana.w@example.com", [(340, 60_000), (40, 30_000)], 200, 25, 3),
    ("evan.patel@example.com", [(90, 12_000)], 0, None, None),
    ("orders@harborcafe.example.com", [(200, 150_000), (20, 90_000)], 500, None, None),
)


async def seed(session, context) -> None:
    if await session.scalar(select(LoyaltyProgram.id).where(LoyaltyProgram.name == PROGRAM.name)):
        return
    program = await service.create_program(session, actor=ACTOR, data=PROGRAM)
    await service.activate_program(session, actor=ACTOR, program_id=program.id)
    now = utcnow()
    for email, earnings, redeemed, expires_in, birthday_in in HISTORIES:
        customer = await session.scalar(select(Customer).where(Customer.email == email))
        if customer is None or customer.currency != program.currency:
            continue
        birthday = (now + timedelta(days=birthday_in)).date() if birthday_in is not None else None
        member = await service.enrol(
            session,
            actor=ACTOR,
            customer_id=customer.id,
            consent=True,
            now=now,
            birth_month=birthday.month if birthday else None,
            birth_day=birthday.day if birthday else None,
        )
        for n, (days, spend) in enumerate(earnings):
            at = now - timedelta(days=days)
            # The first award of Dana expires in `expires_in` days: its period was shorter then.
            period = (days + expires_in) if (n == 0 and expires_in) else program.expiry_days
            await ledger.award(
                session,
                member,
                points=service.points_for(program, spend),
                kind=EntryKind.earn,
                expiry_days=period,
                key=f"demo:earn:{member.id}:{n}",
                now=at,
                spend_minor=spend,
                source_type="demo",
                source_id=f"{member.id}-{n}",
                branch_id=customer.home_branch_id,
            )
        if redeemed:
            await ledger.take(
                session,
                member,
                points=redeemed,
                kind=EntryKind.redeem,
                key=f"demo:redeem:{member.id}",
                now=now - timedelta(days=10),
                source_type="demo",
                source_id=str(member.id),
            )
        await service.recompute_tier(session, actor=ACTOR, member=member, now=now)
