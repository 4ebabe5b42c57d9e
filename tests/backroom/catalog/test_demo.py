from sqlalchemy import func, select

from backroom.catalog.models import Product
from backroom.seed import seed_demo


async def test_demo_seed_is_idempotent(fresh_db):
    for _ in range(2):
        async with fresh_db.sessionmaker.begin() as s:
            await seed_demo(s)
    async with fresh_db.read_sessionmaker() as s:
        own = Product.vendor_id.is_(None)  # the shop's own goods (vendors' are in tests/backroom/vendors)
        assert await s.scalar(select(func.count()).select_from(Product).where(own)) == 12
        assert len(set(await s.scalars(select(Product.category).where(own)))) == 4
