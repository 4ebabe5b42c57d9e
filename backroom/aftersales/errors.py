"""After-sales errors (stable codes)."""

from backroom.errors import Conflict, InvalidInput, NotFound


class CaseStateError(Conflict):
    code = "rma_state"


class ReturnWindowPassed(InvalidInput):
    code = "return_window_passed"


class QuoteLinkInvalid(NotFound):
    code = "quote_link_invalid"
