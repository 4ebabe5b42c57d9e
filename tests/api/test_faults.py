"""Faults at the edge: a retried cart change applies once (Idempotency-Key), and every route that
talks to Temporal answers a quick 503 with Retry-After while Temporal is down, changing nothing."""

from __future__ import annotations

import asyncio
import gc
import re
import time

import pytest
from sqlalchemy import select

from backroom.approvals.models import ApprovalRequest
from backroom.carts.models import CartLine
from backroom.orders.models import Order
from backroom.starts.models import WorkflowSignal
from tests.api.test_checkout import BODY, capturable_event, running, stripe_signature
from tests.helpers import (
    TcpProxy,
    adapters,
    client_for,
    create_user,
    make_app,
    make_shop,
    open_cart,
    pending_approval,
    place,
    token_client,
    uniq,
)
from worker.registry import Deps, build_worker


async def qty_in_cart(db, cart_id: int) -> dict[int, int]:
    async with db.read_sessionmaker() as s:
        lines = (await s.scalars(select(CartLine).where(CartLine.cart_id == cart_id))).all()
    return {ln.product_id: ln.qty for ln in lines}


async def test_the_same_key_changes_the_cart_once(dev_env, sqlite_db, commerce_settings, task_queue):
    db, settings = sqlite_db, commerce_settings
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((9, 0),))
        clerk = await create_user(s, grants=[("clerk", a.id)])
    async with running(dev_env, db, settings, task_queue) as app:
        c = await token_client(app, db, clerk)
        cart = await open_cart(c, db, a)
        url = f"/api/v1/carts/{cart['id']}/items"
        for _ in range(2):  # the client saw an error after the first, and retried
            r = await c.post(
                url, json={"product_id": p1.id, "qty": 2}, headers={"Idempotency-Key": "add-once-1"}
            )
            assert r.status_code == 200, r.text
        assert r.json()["items"] == {str(p1.id): 2}
        assert await qty_in_cart(db, cart["id"]) == {p1.id: 2}
        other = await c.post(
            url, json={"product_id": p1.id, "qty": 1}, headers={"Idempotency-Key": "add-once-1"}
        )
        assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
        # Set-quantity is what a retry-safe client means by "I want 3".
        r = await c.patch(f"{url}/{p1.id}", json={"qty": 3})
        assert r.status_code == 200 and await qty_in_cart(db, cart["id"]) == {p1.id: 3}
        # The storefront's add form carries its key in a hidden field.
        shop = client_for(app)
        page = await shop.get("/shop")
        key = re.search(rf'name="key" value="([^"]+-{p1.id})"', page.text).group(1)
        form = {"csrf_token": shop.cookies.get("shop_sid"), "product_id": p1.id, "qty": 1, "key": key}
        for _ in range(2):  # a resubmitted form
            assert (await shop.post("/shop/cart/add", data=form)).status_code == 303
        async with db.read_sessionmaker() as s:
            from backroom.carts.service import open_cart_for

            shop_cart = await open_cart_for(s, session_key=shop.cookies.get("shop_sid"))
        assert await qty_in_cart(db, shop_cart.id) == {p1.id: 1}


async def through_proxy(dev_env, settings, task_queue) -> TcpProxy:
    """The app's Temporal connection goes through a proxy the test can cut."""
    settings.task_queue, settings.workflow_prefix = task_queue, uniq("t") + "-"
    proxy = await TcpProxy(dev_env.client.service_client.config.target_host).start()
    settings.temporal_address = proxy.address
    return proxy


def assert_unavailable(r, *, api: bool = True) -> None:
    assert r.status_code == 503, r.text
    assert int(r.headers["retry-after"]) > 0
    if api:
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "workflow_service_unavailable"


async def test_temporal_down_is_a_quick_503_that_changes_nothing(
    dev_env, sqlite_db, commerce_settings, task_queue
):
    """The app connected while Temporal was up; then Temporal goes away (as after kill -9)."""
    db, settings = sqlite_db, commerce_settings
    proxy = await through_proxy(dev_env, settings, task_queue)
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((9, 0),))
        boss = await create_user(s, grants=[("admin", None)])
        fin = await create_user(s, grants=[("finance", a.id)])
        gate = await pending_approval(s, a.id)
    order = await place(db, a, [(p1.id, 1)])
    intent = uniq("pi_")
    async with db.sessionmaker.begin() as s:
        (await s.get(Order, order.id)).payment_intent_id = intent
    deps = Deps(settings=settings, sessionmaker=db.sessionmaker, extra=adapters(settings))
    async with build_worker(dev_env.client, deps, task_queue=task_queue):
        app = make_app(db, settings)  # connects through the proxy
        c = await token_client(app, db, boss)
        cart = await open_cart(c, db, a)
        items = f"/api/v1/carts/{cart['id']}/items"
        r = await c.post(
            items, json={"product_id": p1.id, "qty": 1}, headers={"Idempotency-Key": "first-add"}
        )
        assert r.status_code == 200, r.text
        shop = client_for(app)
        await shop.get("/shop")
        sid = shop.cookies.get("shop_sid")
        shop_add = {"csrf_token": sid, "product_id": p1.id, "qty": 1, "key": "shop-add-1"}
        assert (await shop.post("/shop/cart/add", data=shop_add)).status_code == 303

        await proxy.cut()
        started = time.monotonic()
        retry = {"Idempotency-Key": "second-add"}
        assert_unavailable(await c.post(items, json={"product_id": p1.id, "qty": 1}, headers=retry))
        took = time.monotonic() - started
        assert_unavailable(await c.patch(f"{items}/{p1.id}", json={"qty": 5}))
        assert_unavailable(await c.delete(f"{items}/{p1.id}"))
        checkout = await c.post(
            f"/api/v1/carts/{cart['id']}/checkout", json=BODY, headers={"Idempotency-Key": "checkout-1"}
        )
        assert_unavailable(checkout)
        assert_unavailable(
            await c.post(f"/api/v1/orders/{order.id}/cancel", json={"reason": "no longer needed"})
        )
        # A decision needs no Temporal to be taken: it is recorded, and its signal to the
        # workflow waits in the outbox like the payment event's below.
        approver = await token_client(app, db, fin)
        r = await approver.post(f"/api/v1/approvals/{gate.id}/decision", json={"approve": True})
        assert r.status_code == 200 and r.json()["status"] == "approved", r.text
        assert_unavailable(
            await shop.post("/shop/cart/add", data={**shop_add, "key": "shop-add-2"}), api=False
        )
        # A payment event is recorded and its signal waits in the outbox; a redelivery is a duplicate
        # of a recorded event, and the one signal is still there to be sent.
        payload = capturable_event(intent)
        sig = {"Stripe-Signature": stripe_signature(payload, settings.stripe_webhook_secret)}
        for duplicate in (False, True):
            r = await c.post("/api/v1/webhooks/stripe", content=payload, headers=sig)
            assert r.status_code == 200 and r.json()["duplicate"] is duplicate, r.text
        # Nothing half-applied: the cart and the order are as they were.
        assert await qty_in_cart(db, cart["id"]) == {p1.id: 1}
        async with db.read_sessionmaker() as s:
            assert (await s.get(ApprovalRequest, gate.id)).status == "approved"
            told = await s.scalar(
                select(WorkflowSignal).where(WorkflowSignal.workflow_id == gate.workflow_id)
            )
            assert (told.signal, told.status) == ("approval_decided", "pending")
            assert (await s.get(Order, order.id)).status == order.status
            assert await s.scalar(select(Order).where(Order.idempotency_key == "checkout-1")) is None
            signals = (
                await s.scalars(
                    select(WorkflowSignal).where(WorkflowSignal.workflow_id.endswith(f"order-{order.id}"))
                )
            ).all()
        assert [w.status for w in signals] == ["pending"]
        # The app gives up on Temporal within its bounded retries (the SDK default is 10 s).
        config = app.state.temporal._client.service_client.config.retry_config
        assert config.max_elapsed_time_millis <= 2000
        print(f"503 after {took:.2f} s")

        await proxy.restore()  # Temporal is back: the client's retry with its key applies once
        for _ in range(2):
            r = await c.post(items, json={"product_id": p1.id, "qty": 1}, headers=retry)
            assert r.status_code == 200, r.text
        assert await qty_in_cart(db, cart["id"]) == {p1.id: 2}
        await proxy.cut()


async def test_temporal_dying_during_a_cart_change_is_a_503(
    dev_env, sqlite_db, commerce_settings, task_queue
):
    """Found by `make chaos`: Temporal stopped while a cart change was in flight breaks the open
    connection, which the SDK reports as RPC status UNKNOWN "transport error". That was a 500,
    and the failed start's future was left for asyncio to log ("Future exception was never
    retrieved", a traceback formatted on whatever thread collects it: defect 1's trigger)."""
    db, settings = sqlite_db, commerce_settings
    proxy = await through_proxy(dev_env, settings, task_queue)
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((9, 0),))
        boss = await create_user(s, grants=[("admin", None)])
    unretrieved = []
    loop = asyncio.get_running_loop()
    old_handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: unretrieved.append(context["message"]))
    try:
        app = make_app(db, settings)  # no worker polls the queue: the Update waits in Temporal
        c = await token_client(app, db, boss)
        cart = await open_cart(c, db, a)
        change = asyncio.create_task(
            c.post(
                f"/api/v1/carts/{cart['id']}/items",
                json={"product_id": p1.id, "qty": 1},
                headers={"Idempotency-Key": "in-flight-add"},
            )
        )
        await asyncio.sleep(1.5)
        assert not change.done()
        await proxy.cut()  # the open connection dies under the call, as with kill -9
        assert_unavailable(await change)
        gc.collect()
        await asyncio.sleep(0)
        assert not [m for m in unretrieved if "never retrieved" in m]
    finally:
        loop.set_exception_handler(old_handler)


@pytest.mark.parametrize("fresh_db", ["postgres"], indirect=True)
async def test_a_lost_database_connection_is_a_503_and_the_next_request_passes(fresh_db, settings):
    """The pool does not ping before each use: a connection the server dropped (a restart)
    fails its one request with a 503 in words, and the pool replaces the rest for the next."""
    import psycopg
    from sqlalchemy.engine import make_url

    db = fresh_db  # its own: every connection to it is cut
    async with db.sessionmaker.begin() as s:
        user = await create_user(s, grants=[("admin", None)])
    app = make_app(db, settings)
    async with await token_client(app, db, user) as c:
        assert (await c.get("/api/v1/customers")).status_code == 200  # pooled connections now
        url = make_url(db.url)
        with psycopg.connect(
            host=url.host, port=url.port, user=url.username, dbname="postgres", autocommit=True
        ) as admin:
            killed = admin.execute(
                "select count(pg_terminate_backend(pid)) from pg_stat_activity where datname = %s",
                (url.database,),
            ).fetchone()[0]
        assert killed >= 1
        r = await c.get("/api/v1/customers")
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "database_unavailable" and "Try again" in r.json()["detail"]
        assert r.headers["retry-after"] == "1"
        assert "psycopg" not in r.text and "terminat" not in r.text
        assert (await c.get("/api/v1/customers")).status_code == 200
