"""The loyalty and segments demo: three tiers, members with histories (one expiring soon),
three segments with a first snapshot; seeding twice adds nothing."""

from datetime import timedelta

from sqlalchemy import func, select

from backroom.customers.models import Customer
from backroom.db.base import utcnow
from backroom.loyalty import service as loyalty
from backroom.loyalty.models import LoyaltyEntry, LoyaltyMember
from backroom.seed import seed_demo
from backroom.segments.models import Segment, SegmentMembership


async def test_demo_program_members_and_segments(fresh_db):
    for _ in range(2):
        async with fresh_db.sessionmaker.begin() as s:
            await seed_demo(s)
    async with fresh_db.read_sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(LoyaltyMember)) == 3
        entries = await s.scalar(select(func.count()).select_from(LoyaltyEntry))
        dana = await s.scalar(select(Customer).where(Customer.email == "dana.w@example.com"))
        card = await loyalty.card(s, dana.id)
        assert card.tier == "Silver" and card.balance > 0
        assert any(e.expires_at <= utcnow() + timedelta(days=30) for e in card.expiring)
        names = set((await s.scalars(select(Segment.name))).all())
        assert names == {"VIP", "Lapsed 90 days", "New this month"}
        assert await s.scalar(select(func.count()).select_from(SegmentMembership)) > 0
    assert entries > 0
