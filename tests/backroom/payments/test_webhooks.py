"""Stripe webhook verification: real signed deliveries from localstripe, and forgeries."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid

import pytest
from aiohttp import web

from backroom.payments.gateway import CardDeclined, InvalidSignature, PaymentStatus
from backroom.payments.localstripe_server import register_webhook
from backroom.payments.stripe_gateway import StripeGateway
from backroom.payments.webhooks import parse_event

SECRET = "whsec_backroom_test"


@pytest.fixture
async def deliveries(localstripe):
    """A loopback HTTP receiver registered with localstripe; yields the queue of (body, header)."""
    received: asyncio.Queue[tuple[bytes, str | None]] = asyncio.Queue()

    async def receive(request: web.Request) -> web.Response:
        await received.put((await request.read(), request.headers.get("Stripe-Signature")))
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/stripe", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    endpoint_id = f"we_{uuid.uuid4().hex[:12]}"
    register_webhook(
        localstripe.url,
        endpoint_id=endpoint_id,
        url=f"http://127.0.0.1:{port}/stripe",
        secret=SECRET,
    )
    yield received
    # localstripe cannot unregister; point the endpoint at a dead path so later tests stay quiet.
    register_webhook(localstripe.url, endpoint_id=endpoint_id, url="http://127.0.0.1:9/", secret="x")
    await runner.cleanup()


async def _next_event_for(received, intent_id: str, event_type: str, timeout: float = 5.0):
    """Wait for a delivery about intent_id of event_type; skip other tests' events."""
    deadline = time.monotonic() + timeout
    while True:
        body, header = await asyncio.wait_for(received.get(), deadline - time.monotonic())
        event = parse_event(body, header, SECRET)
        if event.intent_id == intent_id and event.type == event_type:
            return body, header, event


async def test_signed_deliveries_parse_into_payment_events(
    gateway: StripeGateway, deliveries, key: str
) -> None:
    with pytest.raises(CardDeclined):
        await gateway.authorize(999, "eur", "pm_card_chargeCustomerFail", f"{key}:declined")
    held = await gateway.authorize(4100, "eur", "pm_card_visa", key)
    await gateway.capture(held.intent_id, None, f"{key}:capture")

    body, header, succeeded = await _next_event_for(deliveries, held.intent_id, "payment_intent.succeeded")

    assert succeeded.event_id.startswith("evt_")
    assert succeeded.status is PaymentStatus.CAPTURED
    assert (succeeded.amount_minor, succeeded.currency) == (4100, "EUR")
    assert succeeded.created.tzinfo is not None
    # The same verified body parses to the same event id: that is the de-duplication key.
    assert parse_event(body, header, SECRET).event_id == succeeded.event_id


async def test_tampered_body_is_refused(gateway: StripeGateway, deliveries, key: str) -> None:
    held = await gateway.authorize(1500, "eur", "pm_card_visa", key)
    await gateway.capture(held.intent_id, None, f"{key}:capture")
    body, header, _ = await _next_event_for(deliveries, held.intent_id, "payment_intent.succeeded")

    forged = body.replace(b'"amount": 1500', b'"amount": 1')
    assert forged != body
    with pytest.raises(InvalidSignature):
        parse_event(forged, header, SECRET)
    with pytest.raises(InvalidSignature):
        parse_event(body, header, "whsec_someone_else")


def _sign(body: bytes, secret: str, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


_EVENT = {
    "id": "evt_manual_1",
    "object": "event",
    "type": "payment_intent.payment_failed",
    "created": 1_700_000_000,
    "data": {
        "object": {
            "id": "pi_manual_1",
            "object": "payment_intent",
            "status": "requires_payment_method",
            "amount": 2000,
            "currency": "gbp",
            "latest_charge": "ch_manual_1",
            "last_payment_error": {
                "code": "card_declined",
                "decline_code": "insufficient_funds",
                "message": "Your card has insufficient funds.",
            },
        }
    },
}


def test_hand_signed_failure_event_maps_to_declined() -> None:
    body = json.dumps(_EVENT).encode()

    event = parse_event(body, _sign(body, SECRET, int(time.time())), SECRET)

    assert event.type == "payment_intent.payment_failed"
    assert event.intent_id == "pi_manual_1"
    assert event.status is PaymentStatus.DECLINED
    assert event.decline_code == "insufficient_funds"
    assert event.message == "Your card has insufficient funds."


def test_stale_or_missing_signature_is_refused() -> None:
    body = json.dumps(_EVENT).encode()
    an_hour_ago = int(time.time()) - 3600

    with pytest.raises(InvalidSignature):
        parse_event(body, _sign(body, SECRET, an_hour_ago), SECRET)
    with pytest.raises(InvalidSignature):
        parse_event(body, None, SECRET)
    with pytest.raises(InvalidSignature):
        parse_event(b"not json", _sign(b"not json", SECRET, int(time.time())), SECRET)
