"""Credit account errors (stable codes)."""

from backroom.errors import Conflict, NotFound, Refused


class CreditAccountNotFound(NotFound):
    code = "credit_account_not_found"


class CurrencyMismatch(Refused):
    code = "currency_mismatch"


class CreditLimitChangeNotPending(Conflict):
    code, title = "credit_limit_change_pending", "A limit change is already pending"
