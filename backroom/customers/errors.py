"""Customer errors (stable codes)."""

from backroom.errors import Conflict, Refused


class DuplicateCustomer(Conflict):
    code = "duplicate_customer"
    title = "Possible duplicate customer"


class CustomerNotActive(Conflict):
    code = "customer_not_active"


class InvalidMerge(Refused):
    code = "invalid_merge"
