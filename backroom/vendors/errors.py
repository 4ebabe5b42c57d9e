"""Vendor refusals, in words a shop worker (or a vendor) understands."""

from __future__ import annotations

from backroom.errors import Conflict, NotFound


class VendorNotFound(NotFound):
    code = "vendor_not_found"


class VendorWrongState(Conflict):
    code, title = "vendor_wrong_state", "The vendor cannot do that now"


class VendorNameTaken(Conflict):
    code, title = "vendor_name_taken", "That vendor name is already in use"


class ChangeNotFound(NotFound):
    code = "product_change_not_found"


class ChangeWrongState(Conflict):
    code, title = "product_change_wrong_state", "The catalog change was already decided"


class PayoutNotFound(NotFound):
    code = "payout_not_found"
