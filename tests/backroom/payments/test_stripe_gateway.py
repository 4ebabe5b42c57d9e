"""StripeGateway against a real localstripe: capture, refund, cancel, declines, 3-D Secure."""

from __future__ import annotations

import socket

import pytest
import stripe
from aiohttp import web

from backroom.payments.gateway import (
    CardDeclined,
    GatewayUnavailable,
    IdempotencyConflict,
    PaymentGateway,
    PaymentRejected,
    PaymentStatus,
    RefundStatus,
)
from backroom.payments.stripe_gateway import StripeGateway


def test_stripe_gateway_satisfies_the_port(gateway: StripeGateway) -> None:
    assert isinstance(gateway, PaymentGateway)


async def test_authorize_then_capture_in_full(gateway: StripeGateway, key: str) -> None:
    held = await gateway.authorize(2500, "eur", "pm_card_visa", key, {"order_id": "o-1"})

    assert held.status is PaymentStatus.AUTHORIZED
    assert held.raw_status == "requires_capture"
    assert (held.amount_minor, held.currency, held.captured_minor) == (2500, "EUR", 0)
    assert held.intent_id.startswith("pi_") and held.charge_id.startswith("ch_")
    assert held.metadata["order_id"] == "o-1"

    captured = await gateway.capture(held.intent_id, None, f"{key}:capture")

    assert captured.status is PaymentStatus.CAPTURED
    assert captured.captured_minor == 2500
    assert (await gateway.retrieve(held.intent_id)).status is PaymentStatus.CAPTURED


async def test_partial_capture_reports_the_captured_amount(gateway: StripeGateway, key: str) -> None:
    held = await gateway.authorize(2500, "EUR", "pm_card_visa", key)

    captured = await gateway.capture(held.intent_id, 1500, f"{key}:capture")

    assert captured.status is PaymentStatus.CAPTURED
    assert (captured.captured_minor, captured.refunded_minor) == (1500, 0)


async def test_capture_retried_with_a_new_key_returns_the_captured_payment(
    gateway: StripeGateway, key: str
) -> None:
    held = await gateway.authorize(900, "eur", "pm_card_visa", key)
    first = await gateway.capture(held.intent_id, None, f"{key}:capture-1")

    again = await gateway.capture(held.intent_id, None, f"{key}:capture-2")

    assert again.status is PaymentStatus.CAPTURED
    assert again.charge_id == first.charge_id
    assert again.captured_minor == 900


async def test_partial_then_full_refund(gateway: StripeGateway, key: str) -> None:
    held = await gateway.authorize(5000, "eur", "pm_card_visa", key)
    await gateway.capture(held.intent_id, None, f"{key}:capture")

    partial = await gateway.refund(held.intent_id, 1200, f"{key}:refund-1")

    assert partial.status is RefundStatus.SUCCEEDED
    assert partial.refund_id.startswith("re_")
    assert (partial.amount_minor, partial.currency) == (1200, "EUR")
    assert partial.payment_status is PaymentStatus.PARTIALLY_REFUNDED
    assert partial.refunded_total_minor == 1200

    rest = await gateway.refund(held.intent_id, None, f"{key}:refund-2")

    assert rest.amount_minor == 3800
    assert rest.payment_status is PaymentStatus.REFUNDED
    assert rest.refunded_total_minor == 5000
    assert (await gateway.retrieve(held.intent_id)).status is PaymentStatus.REFUNDED


async def test_refund_beyond_what_is_left_is_rejected(gateway: StripeGateway, key: str) -> None:
    held = await gateway.authorize(2000, "eur", "pm_card_visa", key)
    await gateway.capture(held.intent_id, None, f"{key}:capture")
    await gateway.refund(held.intent_id, 1500, f"{key}:refund-1")

    with pytest.raises(PaymentRejected):
        await gateway.refund(held.intent_id, 600, f"{key}:refund-2")

    assert (await gateway.retrieve(held.intent_id)).refunded_minor == 1500


async def test_refund_with_the_same_key_refunds_once(gateway: StripeGateway, key: str) -> None:
    held = await gateway.authorize(3000, "eur", "pm_card_visa", key)
    await gateway.capture(held.intent_id, None, f"{key}:capture")

    first = await gateway.refund(held.intent_id, 1000, f"{key}:refund")
    second = await gateway.refund(held.intent_id, 1000, f"{key}:refund")

    assert second.refund_id == first.refund_id
    assert (await gateway.retrieve(held.intent_id)).refunded_minor == 1000


async def test_cancel_releases_the_authorization(gateway: StripeGateway, key: str) -> None:
    held = await gateway.authorize(1800, "eur", "pm_card_visa", key)

    cancelled = await gateway.cancel(held.intent_id, f"{key}:cancel")
    cancelled_again = await gateway.cancel(held.intent_id, f"{key}:cancel-retry")

    assert cancelled.status is PaymentStatus.CANCELLED
    assert cancelled.raw_status == "canceled"
    assert cancelled_again.status is PaymentStatus.CANCELLED
    with pytest.raises(PaymentRejected):
        await gateway.capture(held.intent_id, None, f"{key}:capture")


async def test_decline_raises_card_declined_with_customer_message(gateway: StripeGateway, key: str) -> None:
    with pytest.raises(CardDeclined) as caught:
        await gateway.authorize(4200, "eur", "pm_card_chargeCustomerFail", key)

    assert caught.value.decline_code == "card_declined"
    assert caught.value.message == "Your card was declined."
    assert caught.value.charge_id.startswith("ch_")
    assert caught.value.retryable is False


async def test_three_d_secure_card_needs_authentication_then_is_authorized(
    gateway: StripeGateway, localstripe, key: str
) -> None:
    card = _three_d_secure_card(localstripe.url)

    pending = await gateway.authorize(7700, "eur", card, key)

    assert pending.status is PaymentStatus.REQUIRES_ACTION
    assert pending.next_action == "use_stripe_sdk"

    authorized = await gateway.complete_3ds_for_test(pending.intent_id)

    assert authorized.status is PaymentStatus.AUTHORIZED
    captured = await gateway.capture(pending.intent_id, None, f"{key}:capture")
    assert captured.captured_minor == 7700


async def test_failed_three_d_secure_is_a_decline_with_a_message(
    gateway: StripeGateway, localstripe, key: str
) -> None:
    pending = await gateway.authorize(7700, "eur", _three_d_secure_card(localstripe.url), key)

    failed = await gateway.complete_3ds_for_test(pending.intent_id, succeed=False)

    assert failed.status is PaymentStatus.DECLINED
    assert failed.decline_code == "payment_intent_authentication_failure"
    assert failed.message


async def test_same_idempotency_key_creates_one_payment_intent(
    gateway: StripeGateway, localstripe, key: str
) -> None:
    first = await gateway.authorize(1234, "eur", "pm_card_visa", key, {"order_id": "o-2"})
    second = await gateway.authorize(1234, "eur", "pm_card_visa", key, {"order_id": "o-2"})

    assert second.intent_id == first.intent_id
    client = stripe.StripeClient("sk_test_backroom", base_addresses={"api": localstripe.url})
    mine = [
        pi
        for pi in client.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
        if pi.to_dict().get("metadata", {}).get("idempotency_key") == key
    ]
    assert [pi.id for pi in mine] == [first.intent_id]


async def test_reusing_a_key_with_other_parameters_is_refused(gateway: StripeGateway, key: str) -> None:
    await gateway.authorize(1000, "eur", "pm_card_visa", key)

    with pytest.raises(IdempotencyConflict):
        await gateway.authorize(2000, "eur", "pm_card_visa", key)


async def test_unknown_intent_is_a_rejection_not_an_outage(gateway: StripeGateway) -> None:
    with pytest.raises(PaymentRejected):
        await gateway.retrieve("pi_doesnotexist000")


async def test_unreachable_gateway_is_transient(key: str) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    gateway = StripeGateway("sk_test_backroom", api_base=dead, max_network_retries=0)

    with pytest.raises(GatewayUnavailable) as caught:
        await gateway.authorize(1000, "eur", "pm_card_visa", key)

    assert caught.value.retryable is True


async def test_server_error_is_transient(key: str) -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.json_response(
            {"error": {"type": "api_error", "message": "Something went wrong"}}, status=500
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", broken)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        gateway = StripeGateway(
            "sk_test_backroom", api_base=f"http://127.0.0.1:{port}", max_network_retries=0
        )
        with pytest.raises(GatewayUnavailable):
            await gateway.authorize(1000, "eur", "pm_card_visa", key)
    finally:
        await runner.cleanup()


def _three_d_secure_card(api_base: str) -> str:
    """Create a PaymentMethod for Stripe's 3-D Secure test card and return its id."""
    client = stripe.StripeClient("sk_test_backroom", base_addresses={"api": api_base})
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4000002500003155", "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    return method.id
