"""An order's money steps: what each payment-gateway answer means for the order, and the
ledger row (payment_entries) each one writes. Activities call the gateway through these,
outside any database transaction, then record the outcome in one."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit.context import Actor
from backroom.orders import service as orders
from backroom.orders.adapters import is_test_mode, stripe_config
from backroom.orders.flow import AuthResult, MoneyResult
from backroom.orders.models import BROWSER_CARD, Order
from backroom.payments.errors import CardDeclined, PaymentError
from backroom.payments.gateway import PaymentGateway, PaymentResult, PaymentStatus, RefundResult

# The storefront's 3-D Secure test method. localstripe has no ready-made one, so in test mode
# it is made from Stripe's documented 3-D Secure test card.
THREE_DS_TEST_METHOD = "pm_card_threeDSecure2Required"
THREE_DS_TEST_CARD = {"number": "4000002500003155", "exp_month": 12, "exp_year": 2034, "cvc": "123"}

# Gateway status -> the workflow's authorization outcome.
_AUTH_STATUS = {
    PaymentStatus.AUTHORIZED: "authorized",
    PaymentStatus.REQUIRES_ACTION: "requires_action",
    PaymentStatus.DECLINED: "declined",
}
# Authorization outcome -> ledger kind (anything else is a failure row).
_LEDGER_KIND = {
    "authorized": "authorization",
    "requires_action": "action_required",
    "requires_payment": "payment_opened",
}


async def payment_method(settings, method: str) -> str:
    """The gateway payment method for the one the customer chose (test mode: 3-D Secure card)."""
    if method != THREE_DS_TEST_METHOD or not is_test_mode(settings):
        return method
    import stripe

    key, base = stripe_config(settings)
    client = stripe.StripeClient(key, base_addresses={"api": base})
    pm = await client.v1.payment_methods.create_async(params={"type": "card", "card": THREE_DS_TEST_CARD})
    return pm.id


async def authorize(gateway: PaymentGateway, order: Order, method: str, key: str) -> AuthResult:
    """Hold the order total on the card. A declined or refused card is an outcome, not an error;
    only trouble worth retrying (GatewayUnavailable) raises. Idempotent per key. A zero total
    (an after-sales replacement) holds nothing: authorized without the gateway."""
    if order.total_minor == 0:
        return AuthResult(status="authorized", message="Nothing to charge.")
    if method == BROWSER_CARD:
        result = await gateway.open_intent(
            order.total_minor, order.currency, key, {"order_id": str(order.id)}
        )
        return AuthResult(status="requires_payment", intent_id=result.intent_id)
    try:
        result = await gateway.authorize(
            order.total_minor, order.currency, method, key, {"order_id": str(order.id)}
        )
    except CardDeclined as exc:
        return AuthResult(status="declined", intent_id=exc.intent_id, message=exc.message)
    except PaymentError as exc:
        if exc.retryable:
            raise
        return AuthResult(status="failed", message=f"The payment could not be processed ({exc.detail}).")
    status = _AUTH_STATUS.get(result.status, "failed")
    if status == "declined":  # authorize reports declines by raising; anything else is a failure
        status = "failed"
    return AuthResult(status=status, intent_id=result.intent_id, message=result.message)


def checked(result: PaymentResult) -> AuthResult:
    """Where a 3-D Secure payment stands after the customer's step (or its time running out);
    `requires_payment` while a card entered in the browser has not been confirmed yet."""
    status = _AUTH_STATUS.get(result.status, "failed")
    if result.status is PaymentStatus.PENDING and result.raw_status == "requires_payment_method":
        status = "requires_payment"
    if result.status is PaymentStatus.CANCELLED:
        status = "cancelled"
        message = result.message or "The payment was cancelled."
    else:
        message = result.message or (
            "The payment was not authenticated in time." if status != "authorized" else None
        )
    return AuthResult(status=status, intent_id=result.intent_id, message=message)


async def release_hold(gateway: PaymentGateway, intent_id: str, key: str) -> PaymentResult | None:
    """Cancel the authorization; None when nothing is held (already failed or never confirmed)."""
    try:
        return await gateway.cancel(intent_id, key)
    except PaymentError as exc:
        if exc.retryable:
            raise
        return None


async def _order_for_ledger(session: AsyncSession, order_id: int) -> Order:
    return await orders.get_order(session, order_id, lock=True)


async def record_auth(
    session: AsyncSession, *, actor: Actor, order_id: int, outcome: AuthResult, key: str
) -> None:
    """Ledger row of an authorization (or its failure); remembers the intent. Idempotent per key."""
    kind = _LEDGER_KIND.get(outcome.status, "failure")
    order = await _order_for_ledger(session, order_id)
    if outcome.intent_id:
        order.payment_intent_id = outcome.intent_id
    await orders.ledger(
        session,
        actor=actor,
        order=order,
        kind=kind,
        status=outcome.status,
        amount_minor=order.total_minor if outcome.status == "authorized" else 0,
        idempotency_key=f"{key}:{kind}",
        intent_id=outcome.intent_id,
        message=outcome.message,
    )


async def record_capture(
    session: AsyncSession, *, actor: Actor, order_id: int, result: PaymentResult, key: str
) -> MoneyResult:
    """Ledger row of a capture. Idempotent per key."""
    order = await _order_for_ledger(session, order_id)
    order.captured_minor = result.captured_minor
    await orders.ledger(
        session,
        actor=actor,
        order=order,
        kind="capture",
        status="succeeded",
        amount_minor=result.captured_minor,
        idempotency_key=key,
        intent_id=result.intent_id,
        gateway_ref=result.charge_id,
    )
    return MoneyResult(
        captured_minor=result.captured_minor, refunded_minor=result.refunded_minor, status=result.status.value
    )


async def record_void(
    session: AsyncSession, *, actor: Actor, order_id: int, result: PaymentResult | None, key: str
) -> MoneyResult:
    """Ledger row of a released hold (`not_needed` when nothing was held). Idempotent per key."""
    order = await _order_for_ledger(session, order_id)
    await orders.ledger(
        session,
        actor=actor,
        order=order,
        kind="void",
        status="succeeded" if result else "not_needed",
        amount_minor=0,
        idempotency_key=key,
        intent_id=order.payment_intent_id,
    )
    return MoneyResult(status=result.status.value if result else "not_needed")


async def record_refund(
    session: AsyncSession, *, actor: Actor, order_id: int, result: RefundResult, key: str, reason: str | None
) -> MoneyResult:
    """Ledger row of a refund. Idempotent per key."""
    order = await _order_for_ledger(session, order_id)
    order.refunded_minor = result.refunded_total_minor
    await orders.ledger(
        session,
        actor=actor,
        order=order,
        kind="refund",
        status=result.status.value,
        amount_minor=result.amount_minor,
        idempotency_key=key,
        intent_id=result.intent_id,
        gateway_ref=result.refund_id,
        message=reason,
    )
    return MoneyResult(refunded_minor=result.refunded_total_minor, status=result.status.value)
