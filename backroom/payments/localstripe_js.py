"""Card entry through Stripe.js against the local Stripe stand-in (tests and `make run` only).

localstripe 1.15 ships a Stripe.js stand-in (`/js.stripe.com/v3/`: a card element, a 3-D Secure
dialog), but its `confirmCardPayment` ignores the card: it only answers the dialog of a payment
already confirmed on the server, and its API refuses `confirm` with a payment method (500). Real
Stripe.js confirms the PaymentIntent from the browser with the publishable key, the intent's
client secret and the card (`payment_method_data`), then runs 3-D Secure in the page. This
module adds that, in Stripe's wire format, so the storefront's real card form works offline:

- `POST /v1/payment_intents/{id}/confirm` accepts the publishable key (`key=pk_...`) with the
  client secret, and `payment_method_data[card]` or `payment_method`; a declined card answers
  402 with `error.payment_intent`, and the intent can be confirmed again with another card.
- 4000 0000 0000 0002 (Stripe's generic decline) declines when charged, as on Stripe.
- the authorization of a manual-capture intent sends `payment_intent.amount_capturable_updated`.
- `/js.stripe.com/v3/` serves localstripe's script with `confirmCardPayment` done as above.
"""

from __future__ import annotations

import re
from pathlib import Path

CONFIRM = re.compile(r"^/v1/payment_intents/(pi_\w+)/confirm$")
OVERRIDE = Path(__file__).with_name("localstripe_confirm.js")


def install(app, resources) -> None:
    """Add card entry from the browser to localstripe's app (call once, before it starts)."""
    from aiohttp import web
    from localstripe import server
    from localstripe.errors import UserError, json_response
    from localstripe.webhooks import schedule_webhook

    _decline_like_stripe(resources)
    original_js = Path(server.__file__).with_name("localstripe-v3.js").read_text()
    script = original_js + "\n" + OVERRIDE.read_text()

    async def confirm(request, intent_id: str):
        data = await server.get_post_data(request, remove_auth=False) or {}
        secret_key = server.get_api_key(request)
        publishable = str(data.pop("key", "") or "")
        client_secret = data.pop("client_secret", None)
        for noise in ("payment_user_agent", "use_stripe_sdk", "referrer", "return_url"):
            data.pop(noise, None)
        expand = data.pop("expand", None)
        method_data = data.pop("payment_method_data", None)
        method = data.pop("payment_method", None)
        if data:
            raise UserError(
                400, "Received unknown parameter: " + ", ".join(data), {"param": next(iter(data))}
            )
        intent = resources.PaymentIntent._api_retrieve(intent_id)
        if secret_key is None and not (
            publishable.startswith("pk_") and client_secret == intent.client_secret
        ):
            raise UserError(401, "Unauthorized")
        if intent.status not in ("requires_payment_method", "requires_confirmation"):
            raise UserError(
                400,
                f"This PaymentIntent's status is {intent.status}; it cannot be confirmed.",
                {"code": "payment_intent_unexpected_state", "payment_intent": intent._export()},
            )
        if isinstance(method_data, dict):
            card = dict(method_data.get("card") or {})
            card["number"] = re.sub(r"\D", "", str(card.get("number") or ""))
            try:
                method = resources.PaymentMethod._api_create(
                    type="card", card=card, billing_details=method_data.get("billing_details") or None
                ).id
            except UserError:
                raise UserError(
                    402,
                    "Your card number, expiry date or CVC is incomplete or invalid.",
                    {"type": "card_error", "code": "incorrect_number", "payment_intent": intent._export()},
                ) from None
        if method:
            resources.PaymentMethod._api_retrieve(method)  # 404 for an unknown one
            intent.payment_method = method
        if not intent.payment_method:
            raise UserError(400, "Give a payment method to confirm with.", {"param": "payment_method"})
        intent.latest_charge = None  # a new attempt after a declined one
        try:
            intent._confirm(on_failure_now=intent._report_failure)
        except UserError as exc:
            exc.body["error"].update(
                type="card_error",
                decline_code=exc.body["error"].get("code"),
                payment_intent=intent._export(),
            )
            raise
        if intent.status == "requires_capture":
            schedule_webhook(resources.Event("payment_intent.amount_capturable_updated", intent))
        return json_response(intent._export(expand=expand))

    @web.middleware
    async def card_entry_middleware(request, handler):
        if request.method == "GET" and request.path == "/js.stripe.com/v3/":
            return web.Response(text=script, content_type="application/javascript")
        match = CONFIRM.match(request.path)
        if request.method != "POST" or match is None:
            return await handler(request)
        try:
            return await confirm(request, match.group(1))
        except UserError as exc:
            return exc.to_response()

    app.middlewares.insert(0, card_entry_middleware)


def _decline_like_stripe(resources) -> None:
    """Stripe declines 4000 0000 0000 0002 (and its other decline cards) when charged;
    localstripe only when a card is attached to a customer. Decline them when charged too."""
    method_cls = resources.PaymentMethod
    if getattr(method_cls, "_backroom_declines", False):
        return
    charging = method_cls._charging_is_declined
    method_cls._charging_is_declined = lambda self: charging(self) or self._attaching_is_declined()
    method_cls._backroom_declines = True
