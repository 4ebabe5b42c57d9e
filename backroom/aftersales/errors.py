"""After-sales errors (stable codes)."""

from backroom.errors import Conflict, NotFound, Refused


class CaseStateError(Conflict):
    code = "rma_state"


class ReturnWindowPassed(Refused):
    code = "return_window_passed"


class QuoteLinkInvalid(NotFound):
    code = "quote_link_invalid"
