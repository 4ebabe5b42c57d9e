"""Payloads of the abandoned-cart reminder steps CartWorkflow runs (activities/recovery.py).
Pure Pydantic: the cart workflow imports it."""

from __future__ import annotations

from pydantic import BaseModel

# workflow.patched() ids in CartWorkflow: carts started before these changes replay as before.
PATCH_COUPONS = "cart-discount-codes"
PATCH_REMINDERS = "cart-abandoned-reminders"


class CadenceAsk(BaseModel):
    branch_id: int


class ReminderAsk(BaseModel):
    """Send reminder `step` (1-based) of `steps` for the cart. `key` is the cart's last change
    plus the step, so a retried activity sends one e-mail."""

    cart_id: int
    branch_id: int
    step: int
    steps: int
    key: str


class ReminderResult(BaseModel):
    sent: bool
    reason: str | None = None
    stop: bool = False  # the customer opted out: arm no more reminders
