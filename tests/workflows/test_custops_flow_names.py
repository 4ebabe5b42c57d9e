"""The names customer-operations use cases queue (backroom/<domain>/flow.py) are the names the
workflows register: a start or signal by a wrong name would never arrive."""

import pytest
from temporalio import workflow

from backroom.complaints import flow as complaints
from backroom.credit import flow as credit
from backroom.crm import flow as crm
from workflows.complaints import ComplaintWorkflow
from workflows.credit_holds import CreditHoldWorkflow, CreditOverdueSweepWorkflow
from workflows.credit_limits import CreditLimitChangeWorkflow
from workflows.crm import FollowUpWorkflow

CASES = [
    (ComplaintWorkflow, complaints.COMPLAINT_WORKFLOW, "signals", complaints.RESPONDED),
    (ComplaintWorkflow, complaints.COMPLAINT_WORKFLOW, "signals", complaints.AWAITING_CUSTOMER),
    (ComplaintWorkflow, complaints.COMPLAINT_WORKFLOW, "signals", complaints.CUSTOMER_REPLIED),
    (ComplaintWorkflow, complaints.COMPLAINT_WORKFLOW, "signals", complaints.RESOLVED),
    (ComplaintWorkflow, complaints.COMPLAINT_WORKFLOW, "signals", complaints.REOPEN),
    (CreditHoldWorkflow, credit.HOLD_WORKFLOW, "signals", credit.HOLD_PAYMENT_POSTED),
    (CreditLimitChangeWorkflow, credit.LIMIT_CHANGE_WORKFLOW, None, None),
    (CreditOverdueSweepWorkflow, credit.OVERDUE_SWEEP_WORKFLOW, None, None),
    (FollowUpWorkflow, crm.FOLLOWUP_WORKFLOW, "updates", crm.FOLLOWUP_COMPLETE),
]


@pytest.mark.parametrize(("cls", "name", "kind", "handler"), CASES)
def test_queued_names_match_the_registered_ones(cls, name, kind, handler):
    defn = workflow._Definition.must_from_class(cls)
    assert defn.name == name
    if kind:
        assert handler in getattr(defn, kind), f"{cls.__name__} has no {kind[:-1]} {handler!r}"


def test_a_wrong_name_is_caught():
    defn = workflow._Definition.must_from_class(ComplaintWorkflow)
    assert "respond" not in defn.signals and defn.name != "Complaint"
