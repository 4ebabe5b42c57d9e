from sqlalchemy import func, select

from backroom.catalog.models import Product
from backroom.seed import seed_demo


async def test_demo_seed_is_idempotent(fresh_db):
    for _ in range(2):
        async with fresh_db.sessionmaker.begin() as s:
            await seed_demo(s)
    async with fresh_db.read_sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Product)) == 12
        assert len(set(await s.scalars(select(Product.category)))) == 4
