"""Name and id of CartWorkflow. Its payloads (CartStart, CartView, CartQuote, ...) live in
backroom/carts/schemas.py because the storefront and the API render them too."""

from __future__ import annotations

CART_WORKFLOW = "CartWorkflow"


def cart_workflow_id(cart_id: int, prefix: str = "") -> str:
    """`cart-{id}`; `prefix` (settings.workflow_prefix) lets several databases share a namespace."""
    return f"{prefix}cart-{cart_id}"


# The cart workflow's revision: runs started with CartStart.rev >= 1 take every change below
# (PATCH_KEYS, PATCH_REMINDERS, PATCH_COUPONS, the local steps) from their start, without patch
# markers (workflows/steps.since). Bump it, with a `since(rev, N, ...)`, for the next change.
CART_REV = 1

# workflow.patched id: a change that carries an idempotency key is applied once per key.
PATCH_KEYS = "cart-idempotency-keys"
# How many applied keys a cart remembers (the oldest are forgotten first).
MAX_KEYS = 200
