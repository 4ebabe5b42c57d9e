"""The customer-operations demo data is there after seeding and seeding twice adds nothing."""

from sqlalchemy import func, select

from backroom.complaints.models import Complaint
from backroom.credit.models import CreditAccount, CreditEntry
from backroom.crm.models import Interaction
from backroom.customers.models import Customer
from backroom.seed import seed_demo


async def _counts(db):
    async with db.read_sessionmaker() as s:
        return [
            await s.scalar(select(func.count()).select_from(m))
            for m in (Customer, Interaction, Complaint, CreditEntry)
        ]


async def test_demo_seed_is_idempotent(fresh_db):
    async with fresh_db.sessionmaker.begin() as s:
        await seed_demo(s)
    first = await _counts(fresh_db)
    async with fresh_db.sessionmaker.begin() as s:
        await seed_demo(s)
    assert await _counts(fresh_db) == first
    customers, interactions, complaints, entries = first
    assert customers >= 5 and interactions >= 3 and complaints >= 1 and entries >= 4
    async with fresh_db.read_sessionmaker() as s:
        acct = await s.scalar(select(CreditAccount).where(CreditAccount.balance_minor > 0))
        total = await s.scalar(
            select(func.sum(CreditEntry.amount_minor)).where(CreditEntry.account_id == acct.id)
        )
        assert total == acct.balance_minor
