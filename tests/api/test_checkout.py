"""Checkout through the API: Idempotency-Key, warehouse steps, labels, webhooks, no oversell."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from contextlib import asynccontextmanager

from sqlalchemy import select

from backroom.catalog.models import StockLevel
from tests.helpers import adapters, create_user, make_app, make_shop, open_cart, token_client, uniq
from worker.registry import Deps, build_worker

BODY = {
    "email": "ann@example.com",
    "ship_name": "Ann",
    "ship_line1": "5 Elm St",
    "ship_city": "Springfield",
    "ship_postcode": "12345",
    "ship_country": "US",
    "payment_method": "pm_card_visa",
}


@asynccontextmanager
async def running(env, db, settings, task_queue):
    settings.task_queue = task_queue
    settings.workflow_prefix = uniq("t") + "-"
    async with build_worker(
        env.client,
        Deps(settings=settings, sessionmaker=db.sessionmaker, extra=adapters(settings)),
        task_queue=task_queue,
    ):
        yield make_app(db, settings, temporal_client=env.client)


async def wait_for(client, url, status, tries=200):
    for _ in range(tries):
        body = (await client.get(url)).json()
        if body["status"] == status:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"{url} stayed {body['status']}, wanted {status}")


async def test_checkout_idempotency_and_warehouse_flow(dev_env, sqlite_db, commerce_settings, task_queue):
    db, settings, env = sqlite_db, commerce_settings, dev_env
    settings.shippo_webhook_secret = "shippo-token"
    async with db.sessionmaker.begin() as s:
        a, b, (p1,) = await make_shop(s, stock=((3, 0),), prices=(2000,))
        clerk = await create_user(s, grants=[("clerk", a.id)])
        wh = await create_user(s, grants=[("warehouse", a.id)])
        other_wh = await create_user(s, grants=[("warehouse", b.id)])
    async with running(env, db, settings, task_queue) as app:
        c = await token_client(app, db, clerk)
        w = await token_client(app, db, wh)
        cart = await open_cart(c, db, a)
        r = await c.post(f"/api/v1/carts/{cart['id']}/items", json={"product_id": p1.id, "qty": 2})
        assert r.status_code == 200 and r.json()["totals"]["subtotal_minor"] == 4000
        r = await c.post(f"/api/v1/carts/{cart['id']}/items", json={"product_id": p1.id, "qty": 5})
        assert r.status_code == 409 and r.json()["code"] == "out_of_stock"
        assert (await c.post(f"/api/v1/carts/{cart['id']}/checkout", json=BODY)).status_code == 422
        key = uniq("key-")
        first = await c.post(
            f"/api/v1/carts/{cart['id']}/checkout", json=BODY, headers={"Idempotency-Key": key}
        )
        assert first.status_code == 201, first.text
        again = await c.post(
            f"/api/v1/carts/{cart['id']}/checkout", json=BODY, headers={"Idempotency-Key": key}
        )
        assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
        changed = await c.post(
            f"/api/v1/carts/{cart['id']}/checkout",
            json={**BODY, "ship_city": "Shelbyville"},
            headers={"Idempotency-Key": key},
        )
        assert changed.status_code == 409 and changed.json()["code"] == "idempotency_key_reused"
        late = await c.post(f"/api/v1/carts/{cart['id']}/items", json={"product_id": p1.id, "qty": 1})
        assert late.status_code == 409
        oid = first.json()["id"]
        order = await wait_for(w, f"/api/v1/orders/{oid}", "picking")
        assert order["total_minor"] == first.json()["total_minor"] and order["workflow_url"].endswith(
            f"order-{oid}"
        )
        pid = order["parcels"][0]["id"]
        ow = await token_client(app, db, other_wh)
        assert (await ow.post(f"/api/v1/orders/{oid}/parcels/{pid}/pick")).status_code == 403
        assert (await w.post(f"/api/v1/orders/{oid}/parcels/{pid}/pack")).status_code == 409  # not picked yet
        for step in ("pick", "pack", "label"):
            r = await w.post(f"/api/v1/orders/{oid}/parcels/{pid}/{step}")
            assert r.status_code == 200, r.text
        pdf = await w.get(f"/api/v1/orders/{oid}/parcels/{pid}/label.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        tracking = r.json()["parcels"][0]["tracking_number"]
        assert (await w.post(f"/api/v1/orders/{oid}/parcels/{pid}/ship")).status_code == 200
        await wait_for(w, f"/api/v1/orders/{oid}", "shipped")
        # A Shippo tracking webhook marks the parcel delivered; the redelivery is dropped.
        event = {
            "event": "track_updated",
            "data": {
                "tracking_number": tracking,
                "carrier": "local",
                "tracking_status": {"status": "DELIVERED", "object_id": uniq()},
            },
        }
        hook = f"/api/v1/webhooks/shippo?token={settings.shippo_webhook_secret}"
        assert (await c.post("/api/v1/webhooks/shippo?token=wrong", json=event)).status_code == 401
        assert (await c.post(hook, json=event)).json() == {
            "received": True,
            "duplicate": False,
            "signalled": True,
        }
        assert (await c.post(hook, json=event)).json()["duplicate"] is True
        done = await wait_for(w, f"/api/v1/orders/{oid}", "completed")
        assert [p["kind"] for p in done["payments"]] == ["authorization", "capture"]
        assert {
            "placed",
            "payment_authorized",
            "picking",
            "parcel_picked",
            "label_purchased",
            "shipped",
            "parcel_delivered",
            "completed",
        } <= {e["kind"] for e in done["events"]}
        listed = (await w.get("/api/v1/orders", params={"status": "completed"})).json()["items"]
        assert oid in [o["id"] for o in listed]
    async with db.read_sessionmaker() as s:
        level = await s.scalar(select(StockLevel).where(StockLevel.product_id == p1.id))
        assert (level.on_hand, level.reserved) == (1, 0)


def stripe_signature(payload: bytes, secret: str) -> str:
    ts = int(time.time())
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def capturable_event(intent: str) -> bytes:
    """What Stripe sends when a manual-capture payment becomes capturable."""
    data = {"id": intent, "object": "payment_intent", "amount": 100, "currency": "usd"}
    return json.dumps(
        {
            "id": uniq("evt_"),
            "object": "event",
            "type": "payment_intent.amount_capturable_updated",
            "created": int(time.time()),
            "data": {"object": {**data, "status": "requires_capture"}},
        }
    ).encode()


async def test_stripe_webhook_verifies_and_deduplicates(sqlite_db, commerce_settings):
    app = make_app(sqlite_db, commerce_settings)
    from tests.helpers import client_for

    c = client_for(app)
    payload = json.dumps(
        {
            "id": uniq("evt_"),
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": 1,
            "data": {
                "object": {
                    "id": "pi_unknown",
                    "object": "payment_intent",
                    "amount": 100,
                    "currency": "usd",
                    "status": "requires_capture",
                }
            },
        }
    ).encode()
    bad = await c.post("/api/v1/webhooks/stripe", content=payload, headers={"Stripe-Signature": "t=1,v1=00"})
    assert bad.status_code == 401 and bad.json()["code"] == "invalid_webhook_signature"
    sig = stripe_signature(payload, commerce_settings.stripe_webhook_secret)
    first = await c.post("/api/v1/webhooks/stripe", content=payload, headers={"Stripe-Signature": sig})
    assert first.status_code == 200 and first.json()["duplicate"] is False
    second = await c.post("/api/v1/webhooks/stripe", content=payload, headers={"Stripe-Signature": sig})
    assert second.json()["duplicate"] is True


async def test_stripe_webhook_while_temporal_is_down_is_kept_for_later(sqlite_db, commerce_settings):
    """The event is acknowledged and its signal waits in the outbox for the poller."""
    from backroom.orders.models import Order
    from backroom.starts.models import WorkflowSignal
    from tests.helpers import client_for, place

    db, settings = sqlite_db, commerce_settings  # TEMPORAL_ADDRESS points at a closed port
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s)
    order = await place(db, a, [(p1.id, 1)])
    intent = uniq("pi_")
    async with db.sessionmaker.begin() as s:
        (await s.get(Order, order.id)).payment_intent_id = intent
    payload = capturable_event(intent)
    c = client_for(make_app(db, settings))
    sig = stripe_signature(payload, settings.stripe_webhook_secret)
    r = await c.post("/api/v1/webhooks/stripe", content=payload, headers={"Stripe-Signature": sig})
    assert r.status_code == 200, r.text
    assert r.json() == {"received": True, "duplicate": False, "signalled": True}
    async with db.read_sessionmaker() as s:
        rows = (
            await s.scalars(select(WorkflowSignal).where(WorkflowSignal.workflow_id == f"order-{order.id}"))
        ).all()
    assert [(w.signal, w.status, w.args["authorized"]) for w in rows] == [("payment_update", "pending", True)]


async def test_an_order_action_holds_no_write_lock_while_the_workflow_works(sqlite_db, settings):
    """On SQLite the workflow's activities write while the request waits for the Update: the
    request itself must not hold the one write lock then."""
    from sqlalchemy import update

    from backroom.errors import WorkflowServiceUnavailable
    from backroom.orders.models import Order
    from tests.helpers import place

    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s)
        boss = await create_user(s, grants=[("admin", None)])
    order = await place(db, a, [(p1.id, 1)])
    app = make_app(db, settings)
    wrote = []

    async def activity_meanwhile():
        async with db.sessionmaker.begin() as other:  # another connection, as an activity's
            await other.execute(update(Order).where(Order.id == order.id).values(customer_message="seen"))
        wrote.append(True)
        raise WorkflowServiceUnavailable()  # end the request here: no Temporal in this test

    async def connect():
        return await asyncio.wait_for(activity_meanwhile(), timeout=5)

    app.state.temporal.client = connect
    api = await token_client(app, db, boss)
    r = await api.post(f"/api/v1/orders/{order.id}/cancel", json={"reason": "changed my mind"})
    assert r.status_code == 503, r.text
    assert wrote == [True]


async def test_concurrent_checkouts_of_last_unit_on_postgres(dev_env, pg_db, commerce_settings, task_queue):
    db, settings, env = pg_db, commerce_settings, dev_env
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((1, 0),))
        clerk = await create_user(s, grants=[("clerk", a.id)])
    async with running(env, db, settings, task_queue) as app:
        c = await token_client(app, db, clerk)
        carts = []
        for _ in range(2):
            cart = await open_cart(c, db, a)
            assert (
                await c.post(f"/api/v1/carts/{cart['id']}/items", json={"product_id": p1.id, "qty": 1})
            ).status_code == 200
            carts.append(cart["id"])
        results = await asyncio.gather(
            *[
                c.post(f"/api/v1/carts/{cid}/checkout", json=BODY, headers={"Idempotency-Key": uniq("race-")})
                for cid in carts
            ]
        )
        codes = sorted(r.status_code for r in results)
        assert codes == [201, 409], [r.text for r in results]
        loser = next(r for r in results if r.status_code == 409)
        assert loser.json()["code"] == "out_of_stock"
        # The losing cart is open again, so the customer can change it.
        lost_cart = carts[[r.status_code for r in results].index(409)]
        assert (await c.get(f"/api/v1/carts/{lost_cart}")).json()["status"] == "open"
    async with db.read_sessionmaker() as s:
        level = await s.scalar(select(StockLevel).where(StockLevel.product_id == p1.id))
        assert (level.on_hand, level.reserved) == (1, 1)


async def test_stripe_webhook_signals_three_d_secure_completion(
    dev_env, sqlite_db, commerce_settings, task_queue
):
    from tests.helpers import adapters as make_adapters

    db, settings, env = sqlite_db, commerce_settings, dev_env
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((1, 0),))
        clerk = await create_user(s, grants=[("clerk", a.id)])
    async with running(env, db, settings, task_queue) as app:
        c = await token_client(app, db, clerk)
        cart = await open_cart(c, db, a)
        await c.post(f"/api/v1/carts/{cart['id']}/items", json={"product_id": p1.id, "qty": 1})
        r = await c.post(
            f"/api/v1/carts/{cart['id']}/checkout",
            json={**BODY, "payment_method": "pm_card_threeDSecure2Required"},
            headers={"Idempotency-Key": uniq("key-")},
        )
        oid = r.json()["id"]
        order = await wait_for(c, f"/api/v1/orders/{oid}", "awaiting_authentication")
        intent = order["payment_intent_id"]
        await make_adapters(settings)["payments"].complete_3ds_for_test(intent)
        payload = capturable_event(intent)
        hook = await c.post(
            "/api/v1/webhooks/stripe",
            content=payload,
            headers={"Stripe-Signature": stripe_signature(payload, settings.stripe_webhook_secret)},
        )
        assert hook.json() == {"received": True, "duplicate": False, "signalled": True}
        order = await wait_for(c, f"/api/v1/orders/{oid}", "picking")
        assert [p["kind"] for p in order["payments"]] == ["action_required", "authorization"]


async def test_retried_checkout_never_reruns_a_finished_order(
    dev_env, sqlite_db, commerce_settings, task_queue
):
    db, settings, env = sqlite_db, commerce_settings, dev_env
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((2, 0),))
        clerk = await create_user(s, grants=[("clerk", a.id)])
    async with running(env, db, settings, task_queue) as app:
        c = await token_client(app, db, clerk)
        cart = await open_cart(c, db, a)
        await c.post(f"/api/v1/carts/{cart['id']}/items", json={"product_id": p1.id, "qty": 1})
        key = uniq("key-")
        oid = (
            await c.post(f"/api/v1/carts/{cart['id']}/checkout", json=BODY, headers={"Idempotency-Key": key})
        ).json()["id"]
        await wait_for(c, f"/api/v1/orders/{oid}", "picking")
        r = await c.post(f"/api/v1/orders/{oid}/cancel", json={"reason": "changed mind"})
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        handle = env.client.get_workflow_handle(f"{settings.workflow_prefix}order-{oid}")
        await handle.result()
        again = await c.post(
            f"/api/v1/carts/{cart['id']}/checkout", json=BODY, headers={"Idempotency-Key": key}
        )
        assert again.status_code == 200 and again.json()["id"] == oid
        await asyncio.sleep(0.5)
        order = (await c.get(f"/api/v1/orders/{oid}")).json()
        assert order["status"] == "cancelled" and [p["kind"] for p in order["payments"]] == [
            "authorization",
            "void",
        ]
        assert (await c.post(f"/api/v1/orders/{oid}/cancel", json={"reason": "again"})).status_code == 409
