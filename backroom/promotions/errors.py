"""Promotion refusals, in words a shop worker (or a customer at checkout) understands."""

from __future__ import annotations

from backroom.errors import Conflict, NotFound


class PromotionNotFound(NotFound):
    code = "promotion_not_found"


class PromotionWrongState(Conflict):
    code, title = "promotion_wrong_state", "The promotion cannot do that now"


class CodeTaken(Conflict):
    code, title = "code_taken", "That code is already in use"


class PromotionUsedUp(Conflict):
    """Raised while placing an order when the last use (or budget) went to another order."""

    code, title = "promotion_used_up", "The promotion is used up"
