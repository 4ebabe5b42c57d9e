"""Card entry in the storefront, as Stripe requires: the order's workflow opens a manual-capture
PaymentIntent on the server, the customer's browser confirms it with Stripe.js (the card element
and 3-D Secure run in the page, so no card number reaches Backroom), and the browser then tells
us it is done. We never trust that word: the gateway is asked, and what it says goes to the
order's workflow through the outbox, like a Stripe webhook would."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.orders.adapters import stripe_config, stripe_js
from backroom.orders.flow import PaymentSignal
from backroom.orders.models import BROWSER_CARD, Order, OrderStatus
from backroom.orders.webhooks import tell_payment
from backroom.payments.gateway import PaymentResult, PaymentStatus
from backroom.settings import Settings


class PayState(StrEnum):
    PREPARING = "preparing"  # the workflow has not opened the payment yet
    ENTER_CARD = "enter_card"
    CONFIRMING = "confirming"  # paid in the browser; the workflow has not moved yet


class PaymentPage(BaseModel):
    """What the order page needs to show the card form."""

    state: PayState
    js_url: str
    publishable_key: str | None
    client_secret: str | None = None


def _gateway(settings: Settings):
    from backroom.payments.stripe_gateway import StripeGateway

    key, base = stripe_config(settings)
    return StripeGateway(key, api_base=base)


def takes_card(order: Order) -> bool:
    """Whether the customer still has to pay this order in the browser. Pure."""
    return order.payment_method == BROWSER_CARD and order.status in (
        OrderStatus.PLACED,
        OrderStatus.AWAITING_PAYMENT,
    )


async def payment_page(order: Order, settings: Settings) -> PaymentPage | None:
    """The card form's state for the order page; None when there is nothing to pay. Read-only."""
    if not takes_card(order):
        return None
    js_url, key = stripe_js(settings)
    if not order.payment_intent_id or order.total_minor == 0:
        return PaymentPage(state=PayState.PREPARING, js_url=js_url, publishable_key=key)
    result, secret = await _gateway(settings).client_secret(order.payment_intent_id)
    if result.status is PaymentStatus.CANCELLED:
        return None
    if result.status in (PaymentStatus.AUTHORIZED, PaymentStatus.PROCESSING):
        return PaymentPage(state=PayState.CONFIRMING, js_url=js_url, publishable_key=key)
    return PaymentPage(state=PayState.ENTER_CARD, js_url=js_url, publishable_key=key, client_secret=secret)


async def card_confirmed(session: AsyncSession, *, order: Order, settings: Settings) -> PaymentResult | None:
    """The browser says Stripe.js finished: ask the gateway, and queue what it says for the order's
    workflow (sent after the commit). None when the order takes no card now. Idempotent."""
    if not (takes_card(order) and order.payment_intent_id):
        return None
    result = await _gateway(settings).retrieve(order.payment_intent_id)
    if result.status in (PaymentStatus.AUTHORIZED, PaymentStatus.DECLINED):
        signal = PaymentSignal(authorized=result.status is PaymentStatus.AUTHORIZED, message=result.message)
        await tell_payment(session, order_id=order.id, signal=signal, prefix=settings.workflow_prefix)
    return result
