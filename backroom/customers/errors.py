"""Customer errors (stable codes)."""

from backroom.errors import Conflict, InvalidInput


class DuplicateCustomer(Conflict):
    code = "duplicate_customer"
    title = "Possible duplicate customer"


class CustomerNotActive(Conflict):
    code = "customer_not_active"


class InvalidMerge(InvalidInput):
    code = "invalid_merge"
