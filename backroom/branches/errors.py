"""Errors of branches and cashier shifts."""

from __future__ import annotations

from backroom.errors import Conflict, InvalidInput


class ShiftAlreadyOpen(Conflict):
    code, title = "shift_already_open", "You already have a shift open"


class ShiftAlreadyClosed(Conflict):
    code, title = "shift_already_closed", "The shift is already closed"


class NoOpenShift(Conflict):
    code, title = "no_open_shift", "No shift is open"


class NoShopBranch(InvalidInput):
    code, title = "no_shop_branch", "No branch sells online yet"
