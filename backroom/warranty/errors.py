"""Warranty errors (stable codes)."""

from backroom.errors import Conflict, InvalidInput


class WarrantyStateError(Conflict):
    code = "warranty_state"


class NotWarranted(InvalidInput):
    code = "not_warranted"
