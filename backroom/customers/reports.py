"""The customers report set: customers created per home branch, merged and erased (the last two
from the audit chain, which records each at its exact time and branch)."""

from __future__ import annotations

from sqlalchemy import String, cast

from backroom.audit.models import AuditEvent
from backroom.customers.models import Customer
from backroom.reports.catalog import (
    ExceptionList,
    Field,
    FunctionReport,
    Measure,
    Source,
    Unit,
    audit_source,
    register,
)

CREATED = Source(
    key="customers",
    record="customer",
    table=Customer.__table__,
    id=Customer.id,
    at=Customer.created_at,
    branch=Customer.home_branch_id,
    user=Customer.created_by_id,
    fields=(
        Field("Customer", Customer.name, personal=True),
        Field("Kind", Customer.kind, "code"),
        Field("Status", Customer.status, "code"),
    ),
    link=("/customers/{}", Customer.id),
)

_ON_CUSTOMER = AuditEvent.__table__.join(Customer, AuditEvent.entity_id == cast(Customer.id, String))
MERGED = audit_source(
    "customers_merged",
    "merge",
    ("customer.merge",),
    table=_ON_CUSTOMER,
    fields=(Field("Customer", Customer.name, personal=True),),
    link=("/customers/{}", Customer.merged_into_id),
)
ERASED = audit_source(
    "customers_erased",
    "erasure",
    ("customer.erase",),
    table=_ON_CUSTOMER,
    fields=(Field("Customer", Customer.name, personal=True),),
    link=("/customers/{}", Customer.id),
)

register(
    FunctionReport(
        key="customers",
        label="Customers",
        order=80,
        main="created",
        measures=[
            Measure("created", "Customers created", Unit.COUNT, CREATED),
            Measure("companies", "Of which companies", Unit.COUNT, CREATED, where=Customer.kind == "company"),
            Measure("merged", "Duplicates merged", Unit.COUNT, MERGED),
            Measure("erased", "Erased on request", Unit.COUNT, ERASED),
        ],
        exceptions=[
            ExceptionList(
                "customer_erased",
                "Erasures carried out",
                ERASED,
                ERASED.where,
                lambda f: f"{f['Customer']} erased by {f['By']}",
            )
        ],
    )
)
