"""The payment gateway port: what activities may ask of a card processor, and what comes back.

Every mutating call takes an idempotency key. Build it from something stable across retries
(for an activity: f"{workflow_id}:{activity_id}:capture"), so a retried call cannot move money
twice. Declines raise `CardDeclined`; transient trouble raises `GatewayUnavailable`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from backroom.payments.errors import (
    CardDeclined,
    GatewayMisconfigured,
    GatewayUnavailable,
    IdempotencyConflict,
    InvalidSignature,
    PaymentError,
    PaymentRejected,
)

__all__ = [
    "CardDeclined",
    "GatewayMisconfigured",
    "GatewayUnavailable",
    "IdempotencyConflict",
    "InvalidSignature",
    "PaymentError",
    "PaymentGateway",
    "PaymentRejected",
    "PaymentResult",
    "PaymentStatus",
    "RefundResult",
    "RefundStatus",
    "TransferResult",
]


class PaymentStatus(StrEnum):
    """Where a payment stands, in Backroom's words rather than the gateway's."""

    PENDING = "pending"  # created, not yet confirmed
    REQUIRES_ACTION = "requires_action"  # the customer must authenticate (3-D Secure)
    PROCESSING = "processing"
    AUTHORIZED = "authorized"  # funds held, not captured
    DECLINED = "declined"  # the last attempt failed; a new payment method is needed
    CAPTURED = "captured"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class PaymentResult(BaseModel):
    """A PaymentIntent as Backroom sees it: integer minor units, ISO currency in upper case."""

    model_config = ConfigDict(frozen=True)

    intent_id: str
    status: PaymentStatus
    raw_status: str = Field(description="the gateway's own status, for logs and support")
    amount_minor: int
    currency: str
    captured_minor: int = 0
    refunded_minor: int = 0
    charge_id: str | None = None
    decline_code: str | None = None
    message: str | None = Field(
        default=None, description="customer-facing text when declined or authentication failed"
    )
    next_action: str | None = Field(default=None, description="e.g. use_stripe_sdk, redirect_to_url")
    metadata: dict[str, str] = Field(default_factory=dict)


class RefundResult(BaseModel):
    """One refund, plus where the payment stands after it."""

    model_config = ConfigDict(frozen=True)

    refund_id: str
    intent_id: str
    charge_id: str | None
    status: RefundStatus
    raw_status: str
    amount_minor: int
    currency: str
    payment_status: PaymentStatus
    refunded_total_minor: int


class TransferResult(BaseModel):
    """Money sent to a connected account (Stripe Connect), e.g. a marketplace vendor's payout."""

    model_config = ConfigDict(frozen=True)

    transfer_id: str
    destination: str
    amount_minor: int
    currency: str


@runtime_checkable
class PaymentGateway(Protocol):
    """A card processor. Implementations: StripeGateway (Stripe and localstripe)."""

    async def authorize(
        self,
        amount_minor: int,
        currency: str,
        payment_method: str,
        idempotency_key: str,
        metadata: dict[str, str] | None = None,
    ) -> PaymentResult:
        """Hold funds on a card (manual capture). Idempotent per key. Raises CardDeclined."""
        ...

    async def open_intent(
        self, amount_minor: int, currency: str, idempotency_key: str, metadata: dict[str, str] | None = None
    ) -> PaymentResult:
        """A manual-capture payment the customer's browser confirms (Stripe.js). Idempotent per key."""
        ...

    async def client_secret(self, intent_id: str) -> tuple[PaymentResult, str]:
        """The payment and the secret its payment page confirms it with. Read-only."""
        ...

    async def capture(self, intent_id: str, amount_minor: int | None, idempotency_key: str) -> PaymentResult:
        """Capture held funds (all if amount is None). Idempotent: a captured intent is returned."""
        ...

    async def cancel(self, intent_id: str, idempotency_key: str) -> PaymentResult:
        """Release an authorization. Idempotent: cancelling a cancelled intent returns it."""
        ...

    async def refund(self, intent_id: str, amount_minor: int | None, idempotency_key: str) -> RefundResult:
        """Refund captured funds (the rest if amount is None). Idempotent per key only."""
        ...

    async def retrieve(self, intent_id: str) -> PaymentResult:
        """Read a payment's current state. Read-only."""
        ...

    async def transfer(
        self,
        amount_minor: int,
        currency: str,
        destination: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> TransferResult:
        """Send money to a connected account. Idempotent per key (a retry returns the first one)."""
        ...

    async def create_account(self, email: str, idempotency_key: str) -> str:
        """Open a connected (express) account; returns its id. Idempotent per key."""
        ...

    async def complete_3ds_for_test(self, intent_id: str, succeed: bool = True) -> PaymentResult:
        """Play the customer's 3-D Secure step (localstripe only). Not idempotent."""
        ...
