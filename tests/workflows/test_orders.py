"""OrderFulfillmentWorkflow on the time-skipping server with a real localstripe and the local carrier."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from backroom.catalog.models import StockLevel
from backroom.orders import service as orders
from backroom.orders.flow import ORDER_REV, CancelAsk, ParcelAction, PaymentSignal, RefundAsk
from backroom.orders.models import Alert
from tests.helpers import CrashOnce, adapters, create_user, make_shop, place, uniq
from worker.registry import Deps, build_worker
from workflows.orders import OrderFulfillmentWorkflow

WH = {"user_id": None, "user_name": "Wendy Warehouse"}


async def start(env, db, settings, order, task_queue, *, auto=False, rev=None):
    async with db.read_sessionmaker() as s:
        inp = await orders.start_input(s, order, settings, auto_fulfil=auto)
    if rev is not None:  # a start queued by an older version
        inp.rev = rev
    return await env.client.start_workflow(
        OrderFulfillmentWorkflow.run, inp, id=f"order-{order.id}-{uniq()}", task_queue=task_queue
    )


def worker(env, db, settings, task_queue, extra=None):
    return build_worker(
        env.client,
        Deps(settings=settings, sessionmaker=db.sessionmaker, extra=extra or adapters(settings)),
        task_queue=task_queue,
    )


async def wait_status(handle, *statuses, tries=400):
    for _ in range(tries):
        st = await handle.query(OrderFulfillmentWorkflow.state)
        if st.status in statuses:
            return st
        await asyncio.sleep(0.05)
    raise AssertionError(f"status stayed {st.status}, wanted {statuses}")


async def ledger(db, order_id):
    async with db.read_sessionmaker() as s:
        return [(e.kind, e.status, e.amount_minor) for e in await orders.payments_of(s, order_id)]


async def stock(db, product_id):
    async with db.read_sessionmaker() as s:
        rows = list(await s.scalars(select(StockLevel).where(StockLevel.product_id == product_id)))
        return sum(r.on_hand for r in rows), sum(r.reserved for r in rows)


async def fulfil(handle, parcels):
    for p in parcels:
        for step in ("pick", "pack", "buy_label", "ship"):
            await handle.execute_update(step, ParcelAction(parcel_id=p.id, **WH))


async def test_happy_path_two_branches_two_parcels(
    ts_env, sqlite_db, commerce_settings, task_queue, save_history
):
    db, settings = sqlite_db, commerce_settings
    async with db.sessionmaker.begin() as s:
        a, b, (p1, p2) = await make_shop(s, stock=((3, 0), (0, 4)), prices=(1500, 2500))
    order = await place(db, a, [(p1.id, 2), (p2.id, 1)])
    async with worker(ts_env, db, settings, task_queue):
        handle = await start(ts_env, db, settings, order, task_queue)
        st = await wait_status(handle, "picking")
        assert len(st.parcels) == 2 and {p.branch_id for p in st.parcels} == {a.id, b.id}
        await fulfil(handle, st.parcels)
        st = await wait_status(handle, "shipped")
        assert st.captured_minor == order.total_minor
        for p in st.parcels:
            await handle.execute_update("mark_delivered", ParcelAction(parcel_id=p.id, **WH))
        st = await wait_status(handle, "completed")
        await save_history(handle, "order_fulfilled_by_hand_running")
    assert await ledger(db, order.id) == [
        ("authorization", "authorized", order.total_minor),
        ("capture", "succeeded", order.total_minor),
    ]
    assert await stock(db, p1.id) == (1, 0) and await stock(db, p2.id) == (3, 0)
    async with db.read_sessionmaker() as s:
        parcels = await orders.parcels_of(s, order.id)
        kinds = [e.kind for e in await orders.events_of(s, order.id)]
    assert all(p.status == "delivered" and p.tracking_number and p.label_path for p in parcels)
    assert open(parcels[0].label_path, "rb").read(4) == b"%PDF"
    assert kinds[0] == "placed" and kinds[-1] == "completed" and "payment_authorized" in kinds


async def test_decline_fails_payment_and_releases_stock(ts_env, sqlite_db, commerce_settings, task_queue):
    db, settings = sqlite_db, commerce_settings
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((2, 0),))
    order = await place(db, a, [(p1.id, 2)], method="pm_card_chargeCustomerFail")
    assert await stock(db, p1.id) == (2, 2)
    async with worker(ts_env, db, settings, task_queue):
        handle = await start(ts_env, db, settings, order, task_queue)
        st = await handle.result()
    assert st.status == "payment_failed" and "declined" in st.message.lower()
    assert await stock(db, p1.id) == (2, 0)
    assert [k for k, *_ in await ledger(db, order.id)] == ["failure"]


async def test_three_d_secure_authenticated_then_fulfilled(ts_env, sqlite_db, commerce_settings, task_queue):
    db, settings = sqlite_db, commerce_settings
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((2, 0),))
    order = await place(db, a, [(p1.id, 1)], method="pm_card_threeDSecure2Required")
    extra = adapters(settings)
    async with worker(ts_env, db, settings, task_queue, extra):
        handle = await start(ts_env, db, settings, order, task_queue)
        st = await wait_status(handle, "awaiting_authentication")
        await extra["payments"].complete_3ds_for_test(st.intent_id)
        await handle.signal(OrderFulfillmentWorkflow.payment_update, PaymentSignal(authorized=True))
        st = await wait_status(handle, "picking")
        await handle.execute_update(OrderFulfillmentWorkflow.cancel, CancelAsk(reason="changed mind", **WH))
    assert [k for k, *_ in await ledger(db, order.id)] == ["action_required", "authorization", "void"]


async def test_three_d_secure_never_completed_times_out(ts_env, sqlite_db, commerce_settings, task_queue):
    db, settings = sqlite_db, commerce_settings
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((2, 0),))
    order = await place(db, a, [(p1.id, 2)], method="pm_card_threeDSecure2Required")
    async with worker(ts_env, db, settings, task_queue):
        handle = await start(ts_env, db, settings, order, task_queue)
        await wait_status(handle, "awaiting_authentication")
        st = await handle.result()  # the test server skips the 30-minute wait
    assert st.status == "payment_failed" and "not authenticated" in st.message
    assert await stock(db, p1.id) == (2, 0)


async def _confirm_in_browser(settings, intent_id: str, number: str) -> int:
    """What Stripe.js sends to Stripe from the customer's browser (publishable key, card)."""
    import httpx

    from backroom.orders.adapters import stripe_js
    from backroom.payments.stripe_gateway import StripeGateway

    _result, secret = await StripeGateway(settings.stripe_api_key, settings.stripe_api_base).client_secret(
        intent_id
    )
    card = {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    async with httpx.AsyncClient(base_url=settings.stripe_api_base) as http:
        answer = await http.post(
            f"/v1/payment_intents/{intent_id}/confirm",
            json={
                "key": stripe_js(settings)[1],
                "client_secret": secret,
                "payment_method_data": {"type": "card", "card": card},
            },
        )
    return answer.status_code


async def test_card_in_browser_declined_then_paid(ts_env, sqlite_db, commerce_settings, task_queue):
    """Issue 14 item 6: the workflow opens the payment and waits for the card entered in the
    browser; a declined card (and its webhook) leaves it waiting; a good card goes on."""
    db, settings = sqlite_db, commerce_settings
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((2, 0),))
    order = await place(db, a, [(p1.id, 1)], method=None)
    async with worker(ts_env, db, settings, task_queue):
        handle = await start(ts_env, db, settings, order, task_queue)
        st = await wait_status(handle, "awaiting_payment")
        assert await _confirm_in_browser(settings, st.intent_id, "4000000000000002") == 402
        await handle.signal(OrderFulfillmentWorkflow.payment_update, PaymentSignal(authorized=False))
        for _ in range(100):
            async with db.read_sessionmaker() as s:
                if "card_declined" in [e.kind for e in await orders.events_of(s, order.id)]:
                    break
            await asyncio.sleep(0.05)
        assert (await handle.query(OrderFulfillmentWorkflow.state)).status == "awaiting_payment"
        assert await _confirm_in_browser(settings, st.intent_id, "4242424242424242") == 200
        await handle.signal(OrderFulfillmentWorkflow.payment_update, PaymentSignal(authorized=True))
        await wait_status(handle, "picking")
        await handle.execute_update(OrderFulfillmentWorkflow.cancel, CancelAsk(reason="changed mind", **WH))
    kinds = [k for k, *_ in await ledger(db, order.id)]
    assert kinds == ["payment_opened", "failure", "authorization", "void"]


async def test_card_in_browser_never_entered_times_out(ts_env, sqlite_db, commerce_settings, task_queue):
    db, settings = sqlite_db, commerce_settings
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((2, 0),))
    order = await place(db, a, [(p1.id, 2)], method=None)
    async with worker(ts_env, db, settings, task_queue):
        handle = await start(ts_env, db, settings, order, task_queue)
        await wait_status(handle, "awaiting_payment")
        st = await handle.result()  # the test server skips the 30-minute wait
    assert st.status == "payment_failed" and "not completed in time" in st.message
    assert await stock(db, p1.id) == (2, 0)
    assert [k for k, *_ in await ledger(db, order.id)] == ["payment_opened", "void"]


async def test_card_in_browser_payment_cancelled_at_stripe_ends_the_wait(
    ts_env, sqlite_db, commerce_settings, task_queue
):
    """A payment cancelled in Stripe (its webhook says so) ends the wait at once."""
    db, settings = sqlite_db, commerce_settings
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((2, 0),))
    order = await place(db, a, [(p1.id, 1)], method=None)
    extra = adapters(settings)
    async with worker(ts_env, db, settings, task_queue, extra):
        handle = await start(ts_env, db, settings, order, task_queue)
        st = await wait_status(handle, "awaiting_payment")
        await extra["payments"].cancel(st.intent_id, uniq("dashboard-"))
        await handle.signal(OrderFulfillmentWorkflow.payment_update, PaymentSignal(authorized=False))
        st = await handle.result()
    assert st.status == "payment_failed" and "cancelled" in st.message
    assert await stock(db, p1.id) == (2, 0)


async def test_cancel_before_shipment_voids_label_and_hold(ts_env, sqlite_db, commerce_settings, task_queue):
    db, settings = sqlite_db, commerce_settings
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((2, 0),))
    order = await place(db, a, [(p1.id, 2)])
    async with worker(ts_env, db, settings, task_queue):
        handle = await start(ts_env, db, settings, order, task_queue)
        st = await wait_status(handle, "picking")
        pid = st.parcels[0].id
        for step in ("pick", "pack", "buy_label"):
            await handle.execute_update(step, ParcelAction(parcel_id=pid, **WH))
        st = await handle.execute_update(
            OrderFulfillmentWorkflow.cancel, CancelAsk(reason="customer called", **WH)
        )
        assert st.status == "cancelled"
        assert (await handle.result()).status == "cancelled"
    assert [k for k, *_ in await ledger(db, order.id)] == ["authorization", "void"]
    assert await stock(db, p1.id) == (2, 0)
    async with db.read_sessionmaker() as s:
        assert (await orders.parcels_of(s, order.id))[0].status == "voided"


async def test_cancel_after_shipment_is_refused_then_refund_with_approval(
    ts_env, sqlite_db, commerce_settings, task_queue, save_history
):
    db, settings = sqlite_db, commerce_settings
    settings.refund_approval_over_minor = 1000
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((2, 0),), prices=(3000,))
        fin = await create_user(s, grants=[("finance", a.id)])
    order = await place(db, a, [(p1.id, 1)])
    async with worker(ts_env, db, settings, task_queue):
        handle = await start(ts_env, db, settings, order, task_queue, auto=True)
        st = await wait_status(handle, "shipped")
        with pytest.raises(Exception) as refused:
            await handle.execute_update(OrderFulfillmentWorkflow.cancel, CancelAsk(reason="too late", **WH))
        assert "refund it instead" in str(refused.value.__cause__ or refused.value)
        small = await handle.execute_update(
            OrderFulfillmentWorkflow.refund, RefundAsk(amount_minor=500, reason="scratch", **WH)
        )
        assert small.status == "refunded"
        big = await handle.execute_update(OrderFulfillmentWorkflow.refund, RefundAsk(reason="returned", **WH))
        assert big.status == "pending_approval" and big.amount_minor == order.total_minor - 500
        st = await handle.query(OrderFulfillmentWorkflow.state)
        assert st.status == "partially_refunded" and st.refunded_minor == 500
        await approve(db, handle, "Refund", fin)
        st = await wait_status(handle, "refunded")
        assert st.refunded_minor == order.total_minor
        await save_history(handle, "order_auto_fulfilled_refunded_with_approval_running")
    assert [k for k, *_ in await ledger(db, order.id)] == ["authorization", "capture", "refund", "refund"]


async def approve(db, handle, title, user):
    """Decide the open approval of this workflow as a finance user would (the inbox's Update)."""
    from backroom.approvals.models import ApprovalRequest
    from backroom.approvals.schemas import Decision

    for _ in range(300):  # the gate opens once its inbox row is written
        async with db.read_sessionmaker() as s:
            req = await s.scalar(
                select(ApprovalRequest).where(
                    ApprovalRequest.workflow_id == handle.id,
                    ApprovalRequest.title.like(f"{title}%"),
                    ApprovalRequest.status == "pending",
                )
            )
        if req is not None:
            return await handle.execute_update(
                "decide",
                Decision(
                    request_id=req.id, approve=True, reason="ok", user_id=user.id, user_name=user.full_name
                ),
            )
        await asyncio.sleep(0.05)
    raise AssertionError("the approval never opened")


async def test_pick_timeout_raises_one_alert(ts_env, sqlite_db, commerce_settings, task_queue):
    db, settings = sqlite_db, commerce_settings
    settings.pick_timeout_hours = 1 / 3600  # one second: the timer fires in real time
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((2, 0),))
    order = await place(db, a, [(p1.id, 1)])
    async with worker(ts_env, db, settings, task_queue):
        handle = await start(ts_env, db, settings, order, task_queue)
        await wait_status(handle, "picking")
        for _ in range(200):
            if "pick_timeout" in (await handle.query(OrderFulfillmentWorkflow.state)).alerts:
                break
            await asyncio.sleep(0.05)
        await handle.execute_update(OrderFulfillmentWorkflow.cancel, CancelAsk(reason="test over", **WH))
    async with db.read_sessionmaker() as s:
        alerts = list(
            await s.scalars(
                select(Alert).where(Alert.subject_id == str(order.id), Alert.subject_type == "order")
            )
        )
        kinds = [e.kind for e in await orders.events_of(s, order.id)]
    assert [(al.kind, al.branch_id) for al in alerts] == [("pick_timeout", a.id)]
    assert "alert_pick_timeout" in kinds


async def test_crash_after_gateway_calls_still_one_capture_one_label(
    ts_env, sqlite_db, commerce_settings, task_queue
):
    db, settings = sqlite_db, commerce_settings
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((2, 0),))
    order = await place(db, a, [(p1.id, 1)])
    real = adapters(settings)
    extra = {
        "payments": CrashOnce(real["payments"], "authorize", "capture"),
        "carrier": CrashOnce(real["carrier"], "buy_label"),
    }
    async with worker(ts_env, db, settings, task_queue, extra):
        handle = await start(ts_env, db, settings, order, task_queue, auto=True)
        st = await wait_status(handle, "shipped", tries=600)
    assert extra["payments"].calls == {"authorize": 2, "capture": 2} and extra["carrier"].calls == {
        "buy_label": 2
    }
    assert await ledger(db, order.id) == [
        ("authorization", "authorized", order.total_minor),
        ("capture", "succeeded", order.total_minor),
    ]
    # Stripe's view: one PaymentIntent for the order, captured once for the total.
    intent = await real["payments"].retrieve(st.intent_id)
    assert intent.captured_minor == order.total_minor and intent.refunded_minor == 0
    async with db.read_sessionmaker() as s:
        parcels = await orders.parcels_of(s, order.id)
        labels = [e for e in await orders.events_of(s, order.id) if e.kind == "label_purchased"]
    assert (
        len(parcels) == 1 and len(labels) == 1 and parcels[0].tracking_number == st.parcels[0].tracking_number
    )


async def test_review_above_threshold_approved_then_rejected(
    ts_env, sqlite_db, commerce_settings, task_queue
):
    db, settings = sqlite_db, commerce_settings
    settings.order_review_over_minor = 5000
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((4, 0),), prices=(6000,))
        fin = await create_user(s, grants=[("finance", a.id)])
    big = await place(db, a, [(p1.id, 1)])
    mismatch = await place(db, a, [(p1.id, 1)], billing_postcode="99999")
    async with worker(ts_env, db, settings, task_queue):
        handle = await start(ts_env, db, settings, big, task_queue)
        await wait_status(handle, "review")
        await approve(db, handle, "Review", fin)
        await wait_status(handle, "picking")
        await handle.execute_update(OrderFulfillmentWorkflow.cancel, CancelAsk(reason="done", **WH))
        settings.order_review_over_minor = 0  # only the postcode rule applies now
        other = await start(ts_env, db, settings, mismatch, task_queue)
        await wait_status(other, "review")
        from backroom.approvals.models import ApprovalRequest
        from backroom.approvals.schemas import Decision

        for _ in range(300):
            async with db.read_sessionmaker() as s:
                req = await s.scalar(select(ApprovalRequest).where(ApprovalRequest.workflow_id == other.id))
            if req:
                break
            await asyncio.sleep(0.05)
        assert req.function == "orders" and "postcodes differ" in req.reason
        await other.execute_update(
            "decide",
            Decision(
                request_id=req.id, approve=False, reason="fraud", user_id=fin.id, user_name=fin.full_name
            ),
        )
        st = await other.result()
    assert st.status == "cancelled"
    assert [k for k, *_ in await ledger(db, mismatch.id)] == ["authorization", "void"]


async def test_shippo_label_bought_once_despite_lost_response_then_voided(
    ts_env, sqlite_db, commerce_settings, task_queue
):
    from backroom.shipping.shippo_carrier import ShippoCarrier
    from tests.fakes.shippo_server import FakeShippo

    db, settings = sqlite_db, commerce_settings
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((2, 0),))
    order = await place(db, a, [(p1.id, 1)])
    async with FakeShippo() as shippo:
        extra = {
            **adapters(settings),
            "carrier": ShippoCarrier(shippo.api_key, shippo.url, download_labels=True, poll_interval=0.01),
        }
        shippo.fail_next(
            503, after_purchase=True
        )  # bought, but the answer is lost: the retry must not buy again
        async with worker(ts_env, db, settings, task_queue, extra):
            handle = await start(ts_env, db, settings, order, task_queue)
            st = await wait_status(handle, "picking")
            pid = st.parcels[0].id
            for step in ("pick", "pack", "buy_label"):
                await handle.execute_update(step, ParcelAction(parcel_id=pid, **WH))
            st = await handle.query(OrderFulfillmentWorkflow.state)
            assert st.parcels[0].tracking_number
            await handle.execute_update(
                OrderFulfillmentWorkflow.cancel, CancelAsk(reason="out of time", **WH)
            )
        assert len(shippo.purchases) == 1 and len(shippo.refunds) == 1  # one label, voided on cancel
    async with db.read_sessionmaker() as s:
        parcel = (await orders.parcels_of(s, order.id))[0]
    assert parcel.status == "voided" and parcel.tracking_number == st.parcels[0].tracking_number


class RefusingCarrier:
    """A carrier that quotes but refuses to sell the label (e.g. an address it cannot serve)."""

    def __init__(self, inner):
        self.inner = inner

    async def rates(self, *a, **kw):
        return await self.inner.rates(*a, **kw)

    async def buy_label(self, rate, key):
        from backroom.shipping.errors import LabelPurchaseFailed

        raise LabelPurchaseFailed("carrier does not serve this address")

    async def void_label(self, label_id):
        return await self.inner.void_label(label_id)


async def test_label_refused_compensates_in_reverse(ts_env, sqlite_db, commerce_settings, task_queue):
    db, settings = sqlite_db, commerce_settings
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((2, 0),))
    order = await place(db, a, [(p1.id, 2)])
    extra = adapters(settings)
    extra["carrier"] = RefusingCarrier(extra["carrier"])
    async with worker(ts_env, db, settings, task_queue, extra):
        handle = await start(ts_env, db, settings, order, task_queue, auto=True)
        st = await handle.result()
    assert st.status == "cancelled" and "not charged" in st.message
    assert [k for k, *_ in await ledger(db, order.id)] == ["authorization", "void"]
    assert await stock(db, p1.id) == (2, 0)
    async with db.read_sessionmaker() as s:
        alerts = list(
            await s.scalars(
                select(Alert).where(Alert.subject_id == str(order.id), Alert.subject_type == "order")
            )
        )
    assert [(al.kind, al.severity) for al in alerts] == [("order_failed", "critical")]


@pytest.mark.parametrize("rev", [0, ORDER_REV], ids=["queued-before-revisions", "current"])
async def test_auto_fulfil_two_parcels_writes_each_step_once(
    ts_env, sqlite_db, commerce_settings, task_queue, save_history, rev
):
    db, settings = sqlite_db, commerce_settings
    async with db.sessionmaker.begin() as s:
        a, _b, (p1, p2) = await make_shop(s, stock=((3, 0), (0, 4)), prices=(1500, 2500))
    order = await place(db, a, [(p1.id, 2), (p2.id, 1)])
    async with worker(ts_env, db, settings, task_queue):
        handle = await start(ts_env, db, settings, order, task_queue, auto=True, rev=rev)
        st = await wait_status(handle, "shipped")
        # order_auto_fulfilled_two_parcels_unmerged.json is this run as recorded before the merge,
        # order_auto_fulfilled_two_parcels_separate_quotes.json before FEWER_STEPS,
        # order_auto_fulfilled_two_parcels.json with the patch markers (rev 0).
        if rev:
            await save_history(handle, "order_auto_fulfilled_two_parcels_rev1")
        history = await handle.fetch_history()
    # Same commands either way; a run of the current revision records no patch marker and so no
    # TemporalChangeVersion upsert (a visibility write on the server each); one queued before
    # asks workflow.patched for each change, as runs always did.
    markers = [
        e
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
        and e.marker_recorded_event_attributes.marker_name == "core_patch"
    ]
    upserts = [e for e in history.events if e.HasField("upsert_workflow_search_attributes_event_attributes")]
    assert (len(markers), len(upserts)) == ((0, 0) if rev else (3, 3))
    assert st.captured_minor == order.total_minor and all(p.status == "shipped" for p in st.parcels)
    assert await stock(db, p1.id) == (1, 0) and await stock(db, p2.id) == (3, 0)
    async with db.read_sessionmaker() as s:
        parcels = await orders.parcels_of(s, order.id)
        events = await orders.events_of(s, order.id)
        row = await orders.get_order(s, order.id)
    assert row.status == "shipped" and row.captured_minor == order.total_minor
    kinds = [e.kind for e in events]
    assert all(p.status == "shipped" and p.tracking_number for p in parcels)
    for kind in ("parcel_picked", "parcel_packed", "label_purchased", "parcel_shipped"):
        assert kinds.count(kind) == 2, (kind, kinds)
    assert kinds.count("picking") == 1 and kinds[-1] == "shipped"
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    # Picking with picked+packed of both parcels is one activity, both shipped another, both
    # quotes a third; "payment_authorized" and "shipped" are written by the authorization and the
    # capture: 7 activities where one per step and parcel made 15 (10 before FEWER_STEPS).
    assert scheduled == [
        "orders.authorize_payment",
        "orders.parcel_steps",
        "orders.quote_labels",
        *["orders.purchase_label"] * 2,
        "orders.parcel_steps",
        "orders.capture_payment",
    ]
    assert [e.kind for e in events if e.kind in ("payment_authorized", "shipped")] == [
        "payment_authorized",
        "shipped",
    ]
