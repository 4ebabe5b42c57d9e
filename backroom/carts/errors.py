from __future__ import annotations

from backroom.errors import Conflict, NotFound


class CartNotFound(NotFound):
    code = "cart_not_found"


class CartChangeRefused(Conflict):
    code, title = "cart_change_refused", "The cart cannot be changed"
