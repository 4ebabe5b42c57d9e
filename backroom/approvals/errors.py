from backroom.errors import Conflict, Forbidden


class ApprovalNotOpen(Conflict):
    code, title = "approval_not_open", "Approval is no longer open"


class DecisionRefused(Conflict):
    code, title = "decision_refused", "Decision refused"


class NotAnApprover(Forbidden):
    code, title = "not_an_approver", "Not allowed"
