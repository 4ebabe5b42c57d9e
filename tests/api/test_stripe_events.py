"""Issue 14 item 7: every Stripe event that matters, posted to the webhook signed as Stripe signs
them (localstripe sends no charge.*, refund.* or dispute events), with the objects taken from a
real localstripe payment where it has them. Temporal is down here: what the order's workflow
must hear waits in the outbox, which is what these tests read."""

from __future__ import annotations

import json
import time

import stripe
from sqlalchemy import select

from backroom.notifications.models import Notification
from backroom.orders import service as orders
from backroom.orders.models import Alert, Order, WebhookEvent
from backroom.payments.stripe_gateway import StripeGateway
from backroom.starts.models import WorkflowSignal
from backroom.vendors.models import VendorShare
from tests.api.test_checkout import stripe_signature
from tests.helpers import (
    TEST_ACTOR,
    client_for,
    create_user,
    make_app,
    make_shop,
    make_vendor,
    place,
    uniq,
    vendor_product,
)


def _event(type_: str, obj: dict) -> bytes:
    return json.dumps(
        {
            "id": uniq("evt_"),
            "object": "event",
            "type": type_,
            "created": int(time.time()),
            "data": {"object": obj},
        }
    ).encode()


async def _post(client, settings, payload: bytes):
    sig = stripe_signature(payload, settings.stripe_webhook_secret)
    return await client.post("/api/v1/webhooks/stripe", content=payload, headers={"Stripe-Signature": sig})


async def _captured_order(db, settings, *, vendor_item=False):
    """An order paid and captured at localstripe (as the workflow would have), with its ledger."""
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, prices=(4000,))
        item = p1
        if vendor_item:
            vendor = await make_vendor(s, branch=a)
            item = await vendor_product(s, vendor=vendor, branch=a, price=4000)
        finance = await create_user(s, grants=[("finance", a.id)])
    order = await place(db, a, [(item.id, 1)])
    gateway = StripeGateway(settings.stripe_api_key, api_base=settings.stripe_api_base)
    held = await gateway.authorize(order.total_minor, "USD", "pm_card_visa", uniq("auth-"))
    captured = await gateway.capture(held.intent_id, None, uniq("cap-"))
    async with db.sessionmaker.begin() as s:
        row = await s.get(Order, order.id)
        row.payment_intent_id, row.captured_minor, row.status = (
            held.intent_id,
            captured.captured_minor,
            "shipped",
        )
        await orders.ledger(
            s,
            actor=TEST_ACTOR,
            order=row,
            kind="capture",
            status="succeeded",
            amount_minor=captured.captured_minor,
            idempotency_key=uniq("cap-row-"),
            intent_id=held.intent_id,
            gateway_ref=captured.charge_id,
        )
    return order, gateway, captured, finance


def _client(settings) -> stripe.StripeClient:
    return stripe.StripeClient(settings.stripe_api_key, base_addresses={"api": settings.stripe_api_base})


async def _charge(settings, charge_id: str) -> dict:
    return (
        await _client(settings).v1.charges.retrieve_async(charge_id, params={"expand": ["refunds"]})
    ).to_dict()


async def _signals(db, order_id):
    async with db.read_sessionmaker() as s:
        rows = await s.scalars(
            select(WorkflowSignal).where(WorkflowSignal.workflow_id == f"order-{order_id}")
        )
        return [(w.signal, w.args) for w in rows]


async def test_a_refund_made_in_the_dashboard_shows_on_the_order(sqlite_db, commerce_settings):
    db, settings = sqlite_db, commerce_settings
    order, gateway, captured, _fin = await _captured_order(db, settings)
    c = client_for(make_app(db, settings))
    # Our own refund (the workflow records it) and one made in the dashboard (no metadata).
    await gateway.refund(captured.intent_id, 500, uniq("ours-"))
    outside = (
        await _client(settings).v1.refunds.create_async(params={"charge": captured.charge_id, "amount": 700})
    ).to_dict()
    payload = _event("charge.refunded", await _charge(settings, captured.charge_id))
    first = await _post(c, settings, payload)
    assert first.status_code == 200 and first.json() == {
        "received": True,
        "duplicate": False,
        "signalled": True,
    }
    assert (await _post(c, settings, payload)).json()["duplicate"] is True
    # refund.updated for the same refund (still succeeded) changes nothing more.
    assert (await _post(c, settings, _event("refund.updated", outside))).json()["signalled"] is False
    async with db.read_sessionmaker() as s:
        row = await s.get(Order, order.id)
        ledger = [(e.kind, e.amount_minor, e.gateway_ref) for e in await orders.payments_of(s, order.id)]
        events = [e.kind for e in await orders.events_of(s, order.id)]
    assert row.refunded_minor == 700  # our 500 is the workflow's to record
    assert ("refund", 700, outside["id"]) in ledger and [k for k, *_ in ledger].count("refund") == 1
    assert events.count("refunded_outside") == 1
    assert await _signals(db, order.id) == [("refunded_elsewhere", {"refunded_minor": 700})]
    page = await c.get(f"/shop/orders/{row.token}")
    assert "Refund of 7.00 USD made in Stripe" in page.text

    # The bank sends it back later: marked failed, taken off the total, and an alert.
    failed = await _post(c, settings, _event("refund.updated", {**outside, "status": "failed"}))
    assert failed.status_code == 200
    async with db.read_sessionmaker() as s:
        row = await s.get(Order, order.id)
        statuses = {e.gateway_ref: e.status for e in await orders.payments_of(s, order.id)}
        alerts = [a.kind for a in await s.scalars(select(Alert).where(Alert.subject_id == str(order.id)))]
    assert row.refunded_minor == 0 and statuses[outside["id"]] == "failed" and alerts == ["refund_failed"]


async def test_a_dispute_freezes_the_vendor_share_asks_finance_and_a_loss_is_recorded(
    sqlite_db, commerce_settings
):
    db, settings = sqlite_db, commerce_settings
    order, _gateway, captured, finance = await _captured_order(db, settings, vendor_item=True)
    c = client_for(make_app(db, settings))
    due = int(time.time()) + 7 * 86400
    dispute = {
        "id": uniq("dp_"),
        "object": "dispute",
        "amount": captured.captured_minor,  # the whole payment
        "currency": "usd",
        "charge": captured.charge_id,
        "payment_intent": captured.intent_id,
        "reason": "fraudulent",
        "status": "needs_response",
        "evidence_details": {"due_by": due},
    }
    assert (await _post(c, settings, _event("charge.dispute.created", dispute))).status_code == 200
    async with db.read_sessionmaker() as s:
        shares = [
            v.status for v in await s.scalars(select(VendorShare).where(VendorShare.order_id == order.id))
        ]
        alert = await s.scalar(
            select(Alert).where(Alert.subject_id == str(order.id), Alert.kind == "dispute")
        )
        mail = list(await s.scalars(select(Notification).where(Notification.to_user_id == finance.id)))
    assert shares == ["disputed"]
    assert alert.severity == "critical" and "fraudulent" in alert.message
    assert time.strftime("%Y-%m-%d", time.gmtime(due)) in alert.message
    assert [m.kind for m in mail] == ["dispute.evidence"] and "Evidence needed" in mail[0].subject

    lost = await _post(c, settings, _event("charge.dispute.closed", {**dispute, "status": "lost"}))
    assert lost.json()["signalled"] is True
    async with db.read_sessionmaker() as s:
        row = await s.get(Order, order.id)
        ledger = [(e.kind, e.amount_minor) for e in await orders.payments_of(s, order.id)]
        shares = [
            v.status for v in await s.scalars(select(VendorShare).where(VendorShare.order_id == order.id))
        ]
    assert ("dispute_lost", captured.captured_minor) in ledger and row.refunded_minor == row.captured_minor
    assert shares == ["open"]  # thawed; the loss reversed the vendor's sale like a refund
    assert ("refunded_elsewhere", {"refunded_minor": row.captured_minor}) in await _signals(db, order.id)


async def test_payment_events_and_unknown_types(sqlite_db, commerce_settings):
    db, settings = sqlite_db, commerce_settings
    order, _gateway, captured, _fin = await _captured_order(db, settings)
    c = client_for(make_app(db, settings))
    intent = {"id": captured.intent_id, "object": "payment_intent", "amount": 4000, "currency": "usd"}
    # Cancelled outside Backroom while the order goes ahead: it can no longer be charged.
    await _post(c, settings, _event("payment_intent.canceled", {**intent, "status": "canceled"}))
    # Unknown types are stored and ignored, never an error.
    odd = await _post(c, settings, _event("customer.created", {"id": "cus_1", "object": "customer"}))
    assert odd.status_code == 200 and odd.json()["signalled"] is False
    async with db.read_sessionmaker() as s:
        alerts = [a.kind for a in await s.scalars(select(Alert).where(Alert.subject_id == str(order.id)))]
        stored = await s.scalar(select(WebhookEvent.id).where(WebhookEvent.type == "customer.created"))
    assert alerts == ["payment_cancelled"] and stored is not None
    # An order waiting for its card hears how the payment went, whatever the event's name.
    async with db.sessionmaker.begin() as s:
        (await s.get(Order, order.id)).status = "awaiting_payment"
    for type_, status in (
        ("payment_intent.amount_capturable_updated", "requires_capture"),
        ("payment_intent.payment_failed", "requires_payment_method"),
    ):
        body = {**intent, "status": status}
        if status == "requires_payment_method":
            body["last_payment_error"] = {"code": "card_declined", "message": "Your card was declined."}
        assert (await _post(c, settings, _event(type_, body))).json()["signalled"] is True
    told = [a["authorized"] for name, a in await _signals(db, order.id) if name == "payment_update"]
    assert told == [True, False]
