"""CartActivities: quoting refuses what is out of stock; the projection is versioned."""

import pytest

from activities.carts import CartActivities
from activities.deps import Deps
from backroom.carts import service as carts
from backroom.carts.schemas import CartQuote, CartView
from backroom.catalog.errors import OutOfStock
from tests.commerce_support import ACTOR, make_shop


async def test_quote_refuses_out_of_stock_and_projection_applies_once(act_env, sqlite_db, settings):
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((2, 0),), prices=(1000,))
        cart = await carts.create_cart(s, actor=ACTOR, branch_id=a.id, currency="USD")
    acts = CartActivities(Deps(settings=settings, sessionmaker=db.sessionmaker))
    with pytest.raises(OutOfStock, match="Only 2 left"):
        await act_env.run(acts.quote, CartQuote(cart_id=cart.id, currency="USD", items={p1.id: 3}))
    totals = await act_env.run(acts.quote, CartQuote(cart_id=cart.id, currency="USD", items={p1.id: 2}))
    assert totals.subtotal_minor == 2000
    view = CartView(cart_id=cart.id, status="open", items={p1.id: 2}, totals=totals, version=1)
    assert await act_env.run(acts.project, view) is True
    assert await act_env.run(acts.project, view) is False  # the same version again: nothing written
    async with db.read_sessionmaker() as s:
        lines = await carts.lines_of(s, cart.id)
    assert [(ln.product_id, ln.qty) for ln in lines] == [(p1.id, 2)]
