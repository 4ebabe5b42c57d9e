"""The after-sales report set: cases opened and closed by kind, turnaround against the SLA,
under warranty vs chargeable, repair revenue, repeat repairs; exceptions: late cases."""

from __future__ import annotations

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import aliased

from backroom.aftersales.models import CaseKind, CaseState, RmaCase
from backroom.catalog.models import Product
from backroom.customers.models import Customer
from backroom.reports.catalog import (
    ExceptionList,
    Field,
    FunctionReport,
    Measure,
    Unit,
    register,
    seconds_between,
    sources,
)

C = RmaCase
_TABLE = C.__table__.join(Customer, Customer.id == C.customer_id).join(Product, Product.id == C.product_id)
_FIELDS = (
    Field("Case", C.id, "number"),
    Field("Kind", C.kind, "code"),
    Field("State", C.state, "code"),
    Field("Customer", Customer.name, personal=True),
    Field("Item", Product.name),
    Field("Under warranty", C.under_warranty),
    Field("Charged", C.charged_minor, "money"),
    Field("Opened", C.created_at, "datetime"),
    Field("Due", C.due_at, "datetime"),
)


_cases = sources(
    record="case",
    table=_TABLE,
    id=C.id,
    branch=C.branch_id,
    user=C.created_by_id,
    shift=C.shift_id,
    currency=C.currency,
    category=Product.category,
    fields=_FIELDS,
    link=("/aftersales/{}", C.id),
)


OPENED = _cases("rma_opened", C.created_at)
CLOSED = _cases("rma_closed", C.closed_at, C.state == CaseState.CLOSED)
DUE = _cases("rma_due", C.due_at)
_earlier = aliased(RmaCase)
# A repair of a unit the same customer already brought in for repair.
REPEAT = exists(
    select(_earlier.id).where(
        _earlier.customer_id == C.customer_id,
        _earlier.product_id == C.product_id,
        _earlier.kind == CaseKind.REPAIR,
        _earlier.id < C.id,
    )
)

register(
    FunctionReport(
        key="service",
        label="After-sales",
        order=55,
        main="opened",
        measures=[
            Measure("opened", "Cases opened", Unit.COUNT, OPENED),
            *(
                Measure(f"opened_{k.value}", f"Opened: {label}", Unit.COUNT, OPENED, where=C.kind == k)
                for k, label in (
                    (CaseKind.REPAIR, "repairs"),
                    (CaseKind.REFUND, "returns for refund"),
                    (CaseKind.EXCHANGE, "exchanges"),
                )
            ),
            Measure("under_warranty", "Under warranty", Unit.COUNT, OPENED, where=C.under_warranty.is_(True)),
            Measure("chargeable", "Chargeable", Unit.COUNT, OPENED, where=C.under_warranty.is_(False)),
            Measure("closed", "Cases closed", Unit.COUNT, CLOSED),
            Measure(
                "closed_in_sla",
                "Closed within the turnaround target",
                Unit.COUNT,
                CLOSED,
                where=C.breached.is_(False),
                hidden=True,
            ),
            Measure("turnaround_met", "Turnaround target met", Unit.RATIO, ratio=("closed_in_sla", "closed")),
            Measure(
                "turnaround_seconds",
                "Turnaround (total)",
                Unit.DURATION,
                CLOSED,
                value=seconds_between(C.created_at, C.closed_at),
                hidden=True,
            ),
            Measure(
                "turnaround", "Average turnaround", Unit.DURATION, ratio=("turnaround_seconds", "closed")
            ),
            Measure("repair_revenue", "Repair revenue", Unit.MONEY, CLOSED, value=C.charged_minor),
            Measure(
                "repeat_repairs",
                "Repeat repairs (same customer and product)",
                Unit.COUNT,
                OPENED,
                where=and_(C.kind == CaseKind.REPAIR, REPEAT),
            ),
        ],
        exceptions=[
            ExceptionList(
                "late",
                "Cases past their turnaround target",
                DUE,
                C.breached.is_(True),
                lambda f: (
                    f"#{f['Case']} {f['Customer']} ({f['Kind']}, {f['Item']}): due {f['Due']}; now {f['State']}"
                ),
            ),
        ],
    )
)
