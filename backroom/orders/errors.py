from __future__ import annotations

from backroom.errors import Conflict, NotFound, Refused


class OrderNotFound(NotFound):
    code = "order_not_found"


class IdempotencyKeyReused(Conflict):
    code, title = "idempotency_key_reused", "Idempotency-Key already used for a different request"


class CartEmpty(Refused):
    code, title = "cart_empty", "The cart is empty"


class CartClosed(Conflict):
    code, title = "cart_closed", "The cart was already checked out"


class OrderActionRefused(Conflict):
    code, title = "order_action_refused", "Not possible in the order's current state"


class LabelNotFound(NotFound):
    code = "label_not_found"
