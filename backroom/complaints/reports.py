"""The complaints report set: logged, first-response SLA met, resolution SLA breached,
reopened, resolved and the time to resolve; exceptions are the SLA breaches of the period."""

from __future__ import annotations

from sqlalchemy import and_, or_

from backroom.catalog.models import Product
from backroom.complaints.models import Complaint, ComplaintEvent
from backroom.customers.models import Customer
from backroom.reports.catalog import (
    ExceptionList,
    Field,
    FunctionReport,
    Measure,
    Source,
    Unit,
    register,
    seconds_between,
    sources,
)

C = Complaint
# Complaints name a SKU where a product is involved: its category is the report's category.
_TABLE = C.__table__.join(Customer, Customer.id == C.customer_id).outerjoin(Product, Product.sku == C.sku)
_FIELDS = (
    Field("Complaint", C.id, "number"),
    Field("Customer", Customer.name, personal=True),
    Field("Severity", C.severity, "code"),
    Field("Category", C.category, "code"),
    Field("Status", C.status, "code"),
    Field("Logged", C.created_at, "datetime"),
    Field("Response due", C.first_response_due_at, "datetime"),
    Field("Resolution due", C.resolution_due_at, "datetime"),
)


_complaints = sources(
    record="complaint",
    table=_TABLE,
    id=C.id,
    branch=C.branch_id,
    shift=C.shift_id,
    category=Product.category,
    fields=_FIELDS,
    link=("/complaints/{}", C.id),
)


LOGGED = _complaints("complaints_logged", C.created_at, user=C.created_by_id)
RESOLVED = _complaints("complaints_resolved", C.resolved_at, user=C.assignee_id)
RESOLUTION_DUE = _complaints("complaints_resolution_due", C.resolution_due_at, user=C.assignee_id)
RESPONSE_DUE = _complaints("complaints_response_due", C.first_response_due_at, user=C.assignee_id)
REOPENED = Source(
    key="complaint_reopens",
    record="complaint",
    table=ComplaintEvent.__table__.join(C, C.id == ComplaintEvent.complaint_id)
    .join(Customer, Customer.id == C.customer_id)
    .outerjoin(Product, Product.sku == C.sku),
    id=ComplaintEvent.id,
    at=ComplaintEvent.at,
    branch=C.branch_id,
    where=ComplaintEvent.kind == "reopened",
    shift=C.shift_id,
    category=Product.category,
    fields=(*_FIELDS, Field("Reason", ComplaintEvent.detail)),
    link=("/complaints/{}", C.id),
)

register(
    FunctionReport(
        key="complaints",
        label="Complaints",
        order=50,
        main="logged",
        measures=[
            Measure("logged", "Complaints logged", Unit.COUNT, LOGGED),
            Measure(
                "first_response_met",
                "First response within SLA",
                Unit.COUNT,
                LOGGED,
                where=and_(C.responded_at.is_not(None), C.first_response_breached.is_(False)),
            ),
            Measure(
                "first_response_due",
                "First responses due",
                Unit.COUNT,
                LOGGED,
                where=or_(C.responded_at.is_not(None), C.first_response_breached.is_(True)),
                hidden=True,
            ),
            Measure(
                "first_response_rate",
                "First-response SLA met",
                Unit.RATIO,
                ratio=("first_response_met", "first_response_due"),
            ),
            Measure(
                "resolution_breached",
                "Resolution SLA breached",
                Unit.COUNT,
                RESOLUTION_DUE,
                where=C.resolution_breached.is_(True),
            ),
            Measure("reopened", "Reopened", Unit.COUNT, REOPENED),
            Measure("resolved", "Resolved", Unit.COUNT, RESOLVED),
            Measure(
                "resolve_seconds",
                "Time to resolve (total)",
                Unit.DURATION,
                RESOLVED,
                value=seconds_between(C.created_at, C.resolved_at),
                hidden=True,
            ),
            Measure(
                "time_to_resolve",
                "Average time to resolve",
                Unit.DURATION,
                ratio=("resolve_seconds", "resolved"),
            ),
        ],
        exceptions=[
            ExceptionList(
                "resolution_breached",
                "Resolution SLA breached",
                RESOLUTION_DUE,
                C.resolution_breached.is_(True),
                lambda f: (
                    f"#{f['Complaint']} {f['Customer']} ({f['Severity']}, {f['Category']}): "
                    f"resolution was due {f['Resolution due']}; now {f['Status']}"
                ),
            ),
            ExceptionList(
                "first_response_breached",
                "First response late",
                RESPONSE_DUE,
                C.first_response_breached.is_(True),
                lambda f: (
                    f"#{f['Complaint']} {f['Customer']} ({f['Severity']}): first response was due "
                    f"{f['Response due']}"
                ),
            ),
        ],
    )
)
