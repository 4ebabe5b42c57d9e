"""Payment failures named after the condition. Only GatewayUnavailable is worth retrying."""

from __future__ import annotations

from backroom.errors import AppError


class PaymentError(AppError):
    """Base for every failure the payment gateway reports."""

    status, code, title = 400, "payment_error", "Payment failed"
    retryable: bool = False


class CardDeclined(PaymentError):
    """The issuer or the gateway refused the card. Retrying the same card will not help."""

    status, code, title = 402, "card_declined", "Card declined"

    def __init__(
        self,
        message: str | None = None,
        *,
        decline_code: str | None = None,
        intent_id: str | None = None,
        charge_id: str | None = None,
    ) -> None:
        super().__init__(message, decline_code=decline_code, intent_id=intent_id, charge_id=charge_id)
        # `message` is the gateway's customer-facing text ("Your card was declined.").
        self.message = self.detail
        self.decline_code = decline_code
        self.intent_id = intent_id
        self.charge_id = charge_id


class PaymentRejected(PaymentError):
    """The gateway refused the request itself (wrong state, bad amount, unknown id)."""

    status, code, title = 409, "payment_rejected", "Payment request rejected"

    def __init__(self, message: str | None = None, *, gateway_code: str | None = None) -> None:
        super().__init__(message, gateway_code=gateway_code)
        self.gateway_code = gateway_code


class IdempotencyConflict(PaymentError):
    """An idempotency key was reused with different parameters: a programming error."""

    status, code, title = 409, "idempotency_conflict", "Idempotency key reused"


class GatewayMisconfigured(PaymentError):
    """Credentials or permissions are wrong. Retrying will not help until someone fixes them."""

    status, code, title = 500, "payment_gateway_misconfigured", "Payment gateway misconfigured"


class GatewayUnavailable(PaymentError):
    """Network failure, timeout, rate limit or 5xx. Retry with the same idempotency key."""

    status, code, title = 503, "payment_gateway_unavailable", "Payment gateway unavailable"
    retryable = True


class InvalidSignature(PaymentError):
    """A webhook whose signature, timestamp or body does not check out."""

    # 401: the sender did not prove who it is (as a missing bearer token would).
    status, code, title = 401, "invalid_webhook_signature", "Invalid webhook signature"
