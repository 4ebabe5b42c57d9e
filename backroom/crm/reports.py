"""The CRM report set: interactions by channel and follow-ups done, done late and escalated."""

from __future__ import annotations

from backroom.crm.models import FollowUpTask, Interaction
from backroom.customers.models import Customer
from backroom.reports.catalog import ExceptionList, Field, FunctionReport, Measure, Source, Unit, register

T = FollowUpTask
I_ = Interaction

INTERACTIONS = Source(
    key="interactions",
    record="interaction",
    table=I_.__table__.join(Customer, Customer.id == I_.customer_id),
    id=I_.id,
    at=I_.occurred_at,
    branch=I_.branch_id,
    user=I_.staff_id,
    shift=I_.shift_id,
    fields=(
        Field("Customer", Customer.name, personal=True),
        Field("Channel", I_.channel, "code"),
        Field("Direction", I_.direction, "code"),
        Field("Subject", I_.subject),
        Field("Outcome", I_.outcome),
    ),
    link=("/customers/{}", I_.customer_id),
)

_TASK_FIELDS = (
    Field("Customer", Customer.name, personal=True),
    Field("Task", T.title),
    Field("Due", T.due_at, "datetime"),
    Field("Status", T.status, "code"),
    Field("Done", T.completed_at, "datetime"),
)


def _tasks(key: str, at, user) -> Source:
    return Source(
        key=key,
        record="follow-up",
        table=T.__table__.join(Customer, Customer.id == T.customer_id),
        id=T.id,
        at=at,
        branch=T.branch_id,
        user=user,
        shift=T.shift_id,
        fields=_TASK_FIELDS,
        link=("/customers/{}", T.customer_id),
    )


DONE = _tasks("followups_done", T.completed_at, T.completed_by_id)
ESCALATED = _tasks("followups_escalated", T.escalated_at, T.assignee_id)
DUE = _tasks("followups_due", T.due_at, T.assignee_id)

measures = [Measure("interactions", "Interactions", Unit.COUNT, INTERACTIONS)]
for channel, label in (("call", "Calls"), ("email", "E-mails"), ("visit", "Visits"), ("note", "Notes")):
    measures.append(
        Measure(f"interactions_{channel}", label, Unit.COUNT, INTERACTIONS, where=I_.channel == channel)
    )
measures += [
    Measure("followups_due", "Follow-ups due", Unit.COUNT, DUE),
    Measure("followups_done", "Follow-ups done", Unit.COUNT, DONE),
    Measure("followups_late", "Follow-ups done late", Unit.COUNT, DONE, where=T.completed_at > T.due_at),
    Measure(
        "followups_on_time", "Follow-ups on time", Unit.RATIO, ratio=("followups_on_time_n", "followups_done")
    ),
    Measure(
        "followups_on_time_n",
        "Follow-ups done on time",
        Unit.COUNT,
        DONE,
        where=T.completed_at <= T.due_at,
        hidden=True,
    ),
    Measure("followups_escalated", "Follow-ups escalated", Unit.COUNT, ESCALATED),
]

register(
    FunctionReport(
        key="crm",
        label="CRM",
        order=70,
        main="interactions",
        measures=measures,
        exceptions=[
            ExceptionList(
                "followup_escalated",
                "Follow-ups escalated",
                ESCALATED,
                T.escalated_at.is_not(None),
                lambda f: f"{f['Customer']}: \u201c{f['Task']}\u201d was due {f['Due']} ({f['Status']})",
            )
        ],
    )
)
