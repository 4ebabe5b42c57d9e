from __future__ import annotations

from backroom.errors import Conflict, InvalidInput, NotFound


class CartNotFound(NotFound):
    code = "cart_not_found"


class CartChangeRefused(Conflict):
    code, title = "cart_change_refused", "The cart cannot be changed"


class CodeRefused(InvalidInput):
    """A discount code that does not apply (expired, minimum not met, used up...): the reason
    is the message, in the customer's words."""

    code, title = "code_refused", "The code does not apply"
