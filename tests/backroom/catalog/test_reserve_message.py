"""Issue 15 item 11: a quantity the shop has in all but in no single branch is refused with the
branches named (each line ships whole from one branch), not "Only 4 left" for a cart of 4."""

from __future__ import annotations

import pytest

from backroom.catalog import service as catalog
from backroom.catalog.errors import OutOfStock
from tests.helpers import TEST_ACTOR, make_shop


async def test_stock_spread_over_branches_is_explained(db):
    async with db.sessionmaker.begin() as s:
        a, b, (p,) = await make_shop(s, stock=((3, 1),))
    with pytest.raises(OutOfStock) as spread:
        async with db.sessionmaker.begin() as s:
            await catalog.reserve(s, actor=TEST_ACTOR, order_id=1, items=[(p.id, 4)])
    assert spread.value.detail == (
        f"4 of Thing 0 cannot ship together: the stock is spread over branches "
        f"(3 at {a.name}, 1 at {b.name}). Order up to 3 now and the rest in another order."
    )
    with pytest.raises(OutOfStock, match="Only 4 of Thing 0 left"):
        async with db.sessionmaker.begin() as s:
            await catalog.reserve(s, actor=TEST_ACTOR, order_id=1, items=[(p.id, 5)])
