"""CartWorkflow: update-with-start, validators, re-pricing, stock checks, DB projection."""

from __future__ import annotations

import asyncio

import pytest

from backroom.carts import service as carts
from backroom.carts.errors import CartChangeRefused
from backroom.carts.schemas import CartItem, CartQty
from backroom.catalog import service as catalog
from backroom.catalog.schemas import ProductUpdate
from tests.helpers import TEST_ACTOR, make_shop, uniq
from worker.registry import Deps, build_worker


async def test_cart_lifecycle(ts_env, sqlite_db, settings, task_queue, save_history):
    db = sqlite_db
    settings.workflow_prefix = uniq("t") + "-"
    async with db.sessionmaker.begin() as s:
        a, _b, (p1, p2) = await make_shop(s, stock=((2, 1), (1, 0)), prices=(1000, 250))
        cart = await carts.create_cart(s, actor=TEST_ACTOR, branch_id=a.id, currency="USD")
    kw = {"task_queue": task_queue, "prefix": settings.workflow_prefix}
    async with build_worker(
        ts_env.client, Deps(settings=settings, sessionmaker=db.sessionmaker), task_queue=task_queue
    ):
        view = await carts.send(ts_env.client, cart, "add", CartItem(product_id=p1.id, qty=2), **kw)
        assert view.totals.subtotal_minor == 2000 and view.totals.tax_minor == 160
        view = await carts.send(ts_env.client, cart, "add", CartItem(product_id=p1.id, qty=1), **kw)
        assert view.items == {p1.id: 3}  # stock in both branches counts
        with pytest.raises(CartChangeRefused) as err:
            await carts.send(ts_env.client, cart, "add", CartItem(product_id=p1.id, qty=1), **kw)
        assert err.value.code == "out_of_stock"
        # Prices are re-read from the catalog on each change.
        async with db.sessionmaker.begin() as s:
            await catalog.update_product(
                s, actor=TEST_ACTOR, product_id=p1.id, data=ProductUpdate(price_minor=900)
            )
        view = await carts.send(ts_env.client, cart, "add", CartItem(product_id=p2.id, qty=1), **kw)
        assert view.totals.subtotal_minor == 3 * 900 + 250
        view = await carts.send(ts_env.client, cart, "set_qty", CartQty(product_id=p1.id, qty=0), **kw)
        assert view.items == {p2.id: 1}
        async with db.read_sessionmaker() as s:
            row = await carts.get_cart(s, cart.id)
            lines = await carts.lines_of(s, cart.id)
        assert row.subtotal_minor == 250 and [(ln.product_id, ln.qty) for ln in lines] == [(p2.id, 1)]
        await carts.lock_for_checkout(ts_env.client, cart, "k1", **kw)
        with pytest.raises(CartChangeRefused) as err:
            await carts.send(ts_env.client, cart, "add", CartItem(product_id=p2.id, qty=1), **kw)
        assert err.value.code == "cart_closed"
        await carts.unlock(ts_env.client, cart, "k1", prefix=settings.workflow_prefix)
        await carts.send(ts_env.client, cart, "set_qty", CartQty(product_id=p2.id, qty=1), **kw)
        await carts.lock_for_checkout(ts_env.client, cart, "k2", **kw)
        await carts.close(ts_env.client, cart, "k2", 99, prefix=settings.workflow_prefix)
        with pytest.raises(CartChangeRefused):
            await carts.send(ts_env.client, cart, "add", CartItem(product_id=p2.id, qty=1), **kw)
        handle = ts_env.client.get_workflow_handle(carts.workflow_id(cart.id, settings.workflow_prefix))
        done = await handle.result()
        # older: cart_checked_out, cart_checked_out_local_steps (patch markers)
        await save_history(handle, "cart_checked_out_rev1")
        assert done["status"] == "checked_out" and done["order_id"] == 99
        # Started at CART_REV: every change taken without a patch marker or its search attribute
        # upsert (the server's visibility write).
        events = (await handle.fetch_history()).events
        markers = {
            e.marker_recorded_event_attributes.marker_name
            for e in events
            if e.HasField("marker_recorded_event_attributes")
        }
        assert markers == {"core_local_activity"}  # no "core_patch"
        assert not any(e.HasField("upsert_workflow_search_attributes_event_attributes") for e in events)
    async with db.read_sessionmaker() as s:
        assert (await carts.get_cart(s, cart.id)).status == "checked_out"


async def test_a_change_is_applied_once_per_idempotency_key(
    ts_env, sqlite_db, settings, task_queue, save_history
):
    """A client that retries after an error (API or Temporal died after the change was applied)
    sends the same key: the cart changes once; the same key for another change is refused."""
    db = sqlite_db
    settings.workflow_prefix = uniq("t") + "-"
    async with db.sessionmaker.begin() as s:
        a, _b, (p1, p2) = await make_shop(s, stock=((9, 0), (9, 0)), prices=(1000, 250))
        cart = await carts.create_cart(s, actor=TEST_ACTOR, branch_id=a.id, currency="USD")
    kw = {"task_queue": task_queue, "prefix": settings.workflow_prefix}
    async with build_worker(
        ts_env.client, Deps(settings=settings, sessionmaker=db.sessionmaker), task_queue=task_queue
    ):
        add = CartItem(product_id=p1.id, qty=2, key="retry-key-1")
        await carts.send(ts_env.client, cart, "add", add, **kw)
        view = await carts.send(ts_env.client, cart, "add", add, **kw)
        assert view.items == {p1.id: 2}
        # Two at once (a retry while the first is still in flight): still once.
        again = CartItem(product_id=p2.id, qty=1, key="retry-key-2")
        await asyncio.gather(*(carts.send(ts_env.client, cart, "add", again, **kw) for _ in range(2)))
        # Without a key, or with a new one, each add adds.
        await carts.send(ts_env.client, cart, "add", CartItem(product_id=p1.id, qty=1), **kw)
        view = await carts.send(
            ts_env.client, cart, "add", CartItem(product_id=p1.id, qty=1, key="retry-key-3"), **kw
        )
        assert view.items == {p1.id: 4, p2.id: 1}
        with pytest.raises(CartChangeRefused) as err:
            await carts.send(
                ts_env.client, cart, "add", CartItem(product_id=p2.id, qty=5, key="retry-key-1"), **kw
            )
        assert err.value.code == "idempotency_key_reused"
        view = await carts.send(
            ts_env.client, cart, "set_qty", CartQty(product_id=p1.id, qty=1, key="retry-key-4"), **kw
        )
        assert view.items == {p1.id: 1, p2.id: 1}
        async with db.read_sessionmaker() as s:
            lines = await carts.lines_of(s, cart.id)
        assert sorted((ln.product_id, ln.qty) for ln in lines) == sorted([(p1.id, 1), (p2.id, 1)])
        await carts.lock_for_checkout(ts_env.client, cart, "k1", **kw)
        # A retry of a change made before the checkout answers with the cart as it is.
        view = await carts.send(ts_env.client, cart, "add", add, **kw)
        assert view.status == "checking_out" and view.items == {p1.id: 1, p2.id: 1}
        await carts.close(ts_env.client, cart, "k1", 7, prefix=settings.workflow_prefix)
        handle = ts_env.client.get_workflow_handle(carts.workflow_id(cart.id, settings.workflow_prefix))
        await handle.result()
        await save_history(handle, "cart_idempotent_changes")
