"""CartWorkflow's discount codes and abandoned-cart cadence on the time-skipping server: codes
re-price the cart or are refused with the reason; reminders fire at 1 h, 24 h and 72 h after
the last change, a change re-arms them, a checkout or an unsubscribe ends them, nothing goes
without consent, the last one carries a single-use recovery code, and a restore link brings
an expired cart back as a new one with the same items."""

from __future__ import annotations

import re
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import unquote

import pytest
import pytest_asyncio
from sqlalchemy import select
from temporalio.service import RPCError

from backroom.carts import service as carts
from backroom.carts.errors import CartChangeRefused
from backroom.carts.models import Cart
from backroom.carts.schemas import CartCode, CartItem, CartQty
from backroom.notifications.models import Notification
from backroom.orders import service as orders
from backroom.promotions import service as promotions
from backroom.recovery import service as recovery
from backroom.recovery.models import CartRecovery, CartReminder
from backroom.recovery.schemas import ReminderSettingsIn
from tests.conftest import create_database, drop_database
from tests.helpers import (
    TEST_ACTOR,
    checkout_body,
    client_for,
    create_customer,
    make_app,
    make_promotion,
    make_shop,
    uniq,
)
from worker.registry import Deps, build_worker

HISTORIES = Path(__file__).parent / "histories"
HOUR = 3600


@pytest_asyncio.fixture
async def sqlite_db(tmp_path_factory):
    """A database of its own per test, instead of the session's shared one: these tests skip
    days of time, which stalls while any activity waits, and in full-suite runs a write lock
    left on the shared file by another test held an activity (and so the skip) for minutes."""
    db = await create_database("sqlite", tmp_path_factory)
    yield db
    await drop_database(db)


@pytest.fixture
def shop_settings(settings, task_queue):
    settings.workflow_prefix = uniq("t") + "-"
    settings.task_queue = task_queue
    return settings


async def _world(db, *, consent=True, recovery_coupon=False, stock=((10, 0), (10, 0))):
    async with db.sessionmaker.begin() as s:
        a, _b, (p1, p2) = await make_shop(s, stock=stock, prices=(2000, 500))
        cust = await create_customer(s, branch=a, consent_email=consent, name="Rita Return")
        cart = await carts.create_cart(
            s, actor=TEST_ACTOR, branch_id=a.id, currency="USD", customer_id=cust.id
        )
        promo = None
        if recovery_coupon:
            promo = await make_promotion(
                s, a, name="Come back", code_mode="recovery", code_valid_days=7, percent_bp=1000
            )
            await recovery.set_reminder_settings(
                s,
                actor=TEST_ACTOR,
                branch_id=a.id,
                data=ReminderSettingsIn(delays_hours=[1, 24, 72], recovery_promotion_id=promo.id),
            )
    return {"branch": a, "p1": p1, "p2": p2, "customer": cust, "cart": cart, "promo": promo}


async def _reminders(db, cart_id) -> list[CartReminder]:
    async with db.read_sessionmaker() as s:
        return await recovery.reminders_of(s, cart_id)


async def _mails(db, customer_id) -> list[Notification]:
    async with db.read_sessionmaker() as s:
        rows = await s.scalars(
            select(Notification).where(
                Notification.to_customer_id == customer_id, Notification.kind == "cart_reminder"
            )
        )
        return list(rows)


@asynccontextmanager
async def _worker(env, settings, db, branch):
    """A worker for the test; at the end the cart workflows of the test's branch are
    terminated (the time-skipping server stalls on timers of workflows nobody polls any more)."""
    async with build_worker(
        env.client, Deps(settings=settings, sessionmaker=db.sessionmaker), task_queue=settings.task_queue
    ):
        try:
            yield
        finally:
            async with db.read_sessionmaker() as s:
                ids = list(await s.scalars(select(Cart.id).where(Cart.branch_id == branch.id)))
            for cart_id in ids:
                try:
                    await env.client.get_workflow_handle(
                        carts.workflow_id(cart_id, settings.workflow_prefix)
                    ).terminate()
                except RPCError:
                    pass


async def test_codes_reprice_the_cart_or_say_why(ts_env, sqlite_db, shop_settings):
    db, st = sqlite_db, shop_settings
    w = await _world(db)
    async with db.sessionmaker.begin() as s:
        promo = await make_promotion(s, w["branch"], percent_bp=1000, min_subtotal_minor=3000)
        code = await promotions.shared_code(s, promo.id)
    kw = {"task_queue": st.task_queue, "prefix": st.workflow_prefix}
    async with _worker(ts_env, st, db, w["branch"]):
        cart = w["cart"]
        await carts.send(ts_env.client, cart, "add", CartItem(product_id=w["p1"].id, qty=1), **kw)
        with pytest.raises(CartChangeRefused, match=r"at least 30\.00 USD") as refused:
            await carts.send(ts_env.client, cart, "apply_code", CartCode(code=code.lower()), **kw)
        assert refused.value.code == "code_refused"
        with pytest.raises(CartChangeRefused, match="does not exist"):
            await carts.send(ts_env.client, cart, "apply_code", CartCode(code="NOSUCH1"), **kw)
        view = await carts.send(ts_env.client, cart, "set_qty", CartQty(product_id=w["p1"].id, qty=2), **kw)
        assert view.codes == []
        view = await carts.send(ts_env.client, cart, "apply_code", CartCode(code=code.lower()), **kw)
        assert view.codes == [code] and view.totals.discount_minor == 400 and view.code_notes == {}
        # Under the minimum the code stays, not applied, with the reason.
        view = await carts.send(ts_env.client, cart, "set_qty", CartQty(product_id=w["p1"].id, qty=1), **kw)
        assert view.totals.discount_minor == 0 and "at least 30.00 USD" in view.code_notes[code]
        view = await carts.send(ts_env.client, cart, "add", CartItem(product_id=w["p2"].id, qty=2), **kw)
        assert view.totals.discount_minor == 300 and view.code_notes == {}
        view = await carts.send(ts_env.client, cart, "remove_code", CartCode(code=code), **kw)
        assert view.codes == [] and view.totals.discount_minor == 0
        async with db.read_sessionmaker() as s:
            assert (await carts.get_cart(s, cart.id)).discount_minor == 0


async def test_cadence_fires_at_1_24_72_hours_with_a_recovery_code(ts_env, sqlite_db, shop_settings):
    db, st = sqlite_db, shop_settings
    w = await _world(db, recovery_coupon=True)
    kw = {"task_queue": st.task_queue, "prefix": st.workflow_prefix}
    async with _worker(ts_env, st, db, w["branch"]):
        await carts.send(ts_env.client, w["cart"], "add", CartItem(product_id=w["p1"].id, qty=2), **kw)
        await ts_env.sleep(HOUR - 120)
        assert await _reminders(db, w["cart"].id) == []
        await ts_env.sleep(240)
        assert [r.step for r in await _reminders(db, w["cart"].id)] == [1]
        await ts_env.sleep(22 * HOUR)
        assert len(await _reminders(db, w["cart"].id)) == 1
        await ts_env.sleep(2 * HOUR)
        assert [r.step for r in await _reminders(db, w["cart"].id)] == [1, 2]
        await ts_env.sleep(48 * HOUR + 60)
        sent = await _reminders(db, w["cart"].id)
        assert [(r.step, r.sent) for r in sent] == [(1, True), (2, True), (3, True)]
        assert sent[0].code is None and sent[2].code and sent[2].code.startswith("BACK")
        mails = await _mails(db, w["customer"].id)
        assert len(mails) == 3
        last = mails[-1].body
        assert sent[2].code in last and "2 x Thing 0: 20.00 USD each" in last
        assert "/shop/restore/" in last and "/shop/unsubscribe/" in last
        # The code is single-use, for this customer, and brings the cart back at a discount.
        view = await carts.send(ts_env.client, w["cart"], "apply_code", CartCode(code=sent[2].code), **kw)
        assert view.totals.discount_minor == 400
        # Checked out: the cart counts as recovered by the third reminder.
        async with db.sessionmaker.begin() as s:
            order = await orders.place_order(
                s,
                actor=TEST_ACTOR,
                cart_id=w["cart"].id,
                branch_id=w["branch"].id,
                items=list(view.items.items()),
                body=checkout_body(),
                idempotency_key=uniq("idem-"),
                fingerprint=uniq("f"),
                currency="USD",
                customer_id=w["customer"].id,
                codes=view.codes,
            )
        async with db.read_sessionmaker() as s:
            rec = await s.get(CartRecovery, w["cart"].id)
            assert (rec.recovered_order_id, rec.recovered_step, rec.recovered_minor) == (
                order.id,
                3,
                order.total_minor,
            )
            assert rec.abandoned_at is not None and rec.reminders_sent == 3


async def test_checkout_between_reminders_cancels_the_rest(ts_env, sqlite_db, shop_settings):
    db, st = sqlite_db, shop_settings
    w = await _world(db)
    kw = {"task_queue": st.task_queue, "prefix": st.workflow_prefix}
    async with _worker(ts_env, st, db, w["branch"]):
        await carts.send(ts_env.client, w["cart"], "add", CartItem(product_id=w["p1"].id, qty=1), **kw)
        await ts_env.sleep(2 * HOUR)
        assert len(await _reminders(db, w["cart"].id)) == 1
        await carts.lock_for_checkout(ts_env.client, w["cart"], "k1", **kw)
        await carts.close(ts_env.client, w["cart"], "k1", 99, prefix=st.workflow_prefix)
        done = await ts_env.client.get_workflow_handle(
            carts.workflow_id(w["cart"].id, st.workflow_prefix)
        ).result()
        assert done["status"] == "checked_out"
        await ts_env.sleep(100 * HOUR)
        assert len(await _reminders(db, w["cart"].id)) == 1
        if __import__("os").environ.get("BACKROOM_SAVE_HISTORIES") == "1":
            handle = ts_env.client.get_workflow_handle(carts.workflow_id(w["cart"].id, st.workflow_prefix))
            (HISTORIES / "cart_reminder_then_checkout.json").write_text(
                (await handle.fetch_history()).to_json()
            )


async def test_a_change_rearms_the_cadence(ts_env, sqlite_db, shop_settings):
    db, st = sqlite_db, shop_settings
    w = await _world(db)
    kw = {"task_queue": st.task_queue, "prefix": st.workflow_prefix}
    async with _worker(ts_env, st, db, w["branch"]):
        await carts.send(ts_env.client, w["cart"], "add", CartItem(product_id=w["p1"].id, qty=1), **kw)
        await ts_env.sleep(50 * 60)
        await carts.send(ts_env.client, w["cart"], "add", CartItem(product_id=w["p2"].id, qty=1), **kw)
        await ts_env.sleep(20 * 60)  # 1 h 10 min after the first change, 20 min after the second
        assert await _reminders(db, w["cart"].id) == []
        await ts_env.sleep(45 * 60)
        assert [r.step for r in await _reminders(db, w["cart"].id)] == [1]
        # After the first reminder, another change starts the cadence again from step 1.
        await carts.send(ts_env.client, w["cart"], "set_qty", CartQty(product_id=w["p2"].id, qty=3), **kw)
        await ts_env.sleep(HOUR + 120)
        assert [r.step for r in await _reminders(db, w["cart"].id)] == [1, 1]


async def test_no_consent_no_email_but_abandoned(ts_env, sqlite_db, shop_settings):
    db, st = sqlite_db, shop_settings
    w = await _world(db, consent=False)
    kw = {"task_queue": st.task_queue, "prefix": st.workflow_prefix}
    async with _worker(ts_env, st, db, w["branch"]):
        await carts.send(ts_env.client, w["cart"], "add", CartItem(product_id=w["p1"].id, qty=1), **kw)
        await ts_env.sleep(2 * HOUR)
        rows = await _reminders(db, w["cart"].id)
        assert [(r.step, r.sent) for r in rows] == [(1, False)] and "marketing" in rows[0].reason
        assert await _mails(db, w["customer"].id) == []
        async with db.read_sessionmaker() as s:
            assert (await s.get(CartRecovery, w["cart"].id)).abandoned_at is not None


async def test_out_of_stock_items_get_no_reminder(ts_env, sqlite_db, shop_settings):
    db, st = sqlite_db, shop_settings
    w = await _world(db, stock=((1, 0), (1, 0)))
    kw = {"task_queue": st.task_queue, "prefix": st.workflow_prefix}
    async with _worker(ts_env, st, db, w["branch"]):
        await carts.send(ts_env.client, w["cart"], "add", CartItem(product_id=w["p1"].id, qty=1), **kw)
        from tests.helpers import place

        await place(db, w["branch"], [(w["p1"].id, 1)])  # the last unit sells elsewhere
        await ts_env.sleep(2 * HOUR)
        rows = await _reminders(db, w["cart"].id)
        assert rows[0].sent is False and "out of stock" in rows[0].reason


async def test_unsubscribe_link_stops_reminders(ts_env, sqlite_db, shop_settings):
    db, st = sqlite_db, shop_settings
    w = await _world(db)
    kw = {"task_queue": st.task_queue, "prefix": st.workflow_prefix}
    app = make_app(db, st, temporal_client=ts_env.client)
    async with _worker(ts_env, st, db, w["branch"]), client_for(app) as web:
        await carts.send(ts_env.client, w["cart"], "add", CartItem(product_id=w["p1"].id, qty=1), **kw)
        await ts_env.sleep(2 * HOUR)
        body = (await _mails(db, w["customer"].id))[0].body
        link = re.search(r"https?://\S+/shop/unsubscribe/(\S+)", body).group(1)
        page = await web.get(f"/shop/unsubscribe/{link}")
        assert page.status_code == 200 and "Unsubscribe" in page.text
        assert (await web.get("/shop/unsubscribe/forged-token")).status_code == 422
        done = await web.post(f"/shop/unsubscribe/{link}", data={"csrf_token": web.cookies.get("shop_sid")})
        assert done.status_code == 200 and "no more reminders" in done.text
        handle = ts_env.client.get_workflow_handle(carts.workflow_id(w["cart"].id, st.workflow_prefix))
        from backroom.starts import service as starts

        await starts.start_pending(
            ts_env.client, db.sessionmaker, older_than=__import__("datetime").timedelta(0)
        )
        for _ in range(100):
            if (await handle.query("reminders"))["off"]:
                break
            await __import__("asyncio").sleep(0.05)
        await ts_env.sleep(100 * HOUR)
        assert len(await _reminders(db, w["cart"].id)) == 1
    async with db.read_sessionmaker() as s:
        from backroom.customers.models import Customer

        assert (await s.get(Customer, w["customer"].id)).consent_email is False


async def test_restore_link_brings_back_an_expired_cart(ts_env, sqlite_db, shop_settings):
    db, st = sqlite_db, shop_settings
    w = await _world(db)
    kw = {"task_queue": st.task_queue, "prefix": st.workflow_prefix}
    app = make_app(db, st, temporal_client=ts_env.client)
    async with _worker(ts_env, st, db, w["branch"]), client_for(app) as web:
        await carts.send(ts_env.client, w["cart"], "add", CartItem(product_id=w["p1"].id, qty=2), **kw)
        await carts.send(ts_env.client, w["cart"], "add", CartItem(product_id=w["p2"].id, qty=1), **kw)
        await ts_env.sleep(31 * 24 * HOUR)  # past the reminders and 30 idle days: expired
        async with db.read_sessionmaker() as s:
            assert (await carts.get_cart(s, w["cart"].id)).status == "abandoned"
        body = (await _mails(db, w["customer"].id))[0].body
        token = unquote(re.search(r"/shop/restore/(\S+)", body).group(1))
        resp = await web.get(f"/shop/restore/{token}")
        assert resp.status_code == 303 and resp.headers["location"].startswith("/shop/cart")
        sid = web.cookies.get("shop_sid")
        async with db.read_sessionmaker() as s:
            new = await carts.open_cart_for(s, session_key=sid)
            assert new is not None and new.id != w["cart"].id and new.customer_id == w["customer"].id
            lines = await carts.lines_of(s, new.id)
            assert sorted((ln.product_id, ln.qty) for ln in lines) == sorted(
                [(w["p1"].id, 2), (w["p2"].id, 1)]
            )
            assert (await s.get(CartRecovery, new.id)).origin_cart_id == w["cart"].id
        page = await web.get("/shop/cart")
        assert "Thing 0" in page.text and "Discount code" in page.text
        assert (await web.get("/shop/restore/not-a-token")).status_code == 422
        # The storefront's code field: a refusal says why; a good code shows per line and in total.
        async with db.sessionmaker.begin() as s:
            promo = await make_promotion(s, w["branch"], name="Shop ten", percent_bp=1000)
            code = await promotions.shared_code(s, promo.id)
        bad = await web.post("/shop/cart/code", data={"csrf_token": sid, "code": "NOPE-42"})
        assert bad.status_code == 303 and "does%20not%20exist" in bad.headers["location"]
        ok = await web.post("/shop/cart/code", data={"csrf_token": sid, "code": code.lower()})
        assert ok.status_code == 303 and "applied" in ok.headers["location"]
        page = await web.get("/shop/cart")
        assert f"Shop ten ({code})" in page.text and "−4.50 USD" in page.text  # 10 % of 45.00
