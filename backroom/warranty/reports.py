"""The warranty report set: registered, ending in the period, ended, extended, and claims
(after-sales cases under warranty) by category."""

from __future__ import annotations

from backroom.aftersales.models import RmaCase
from backroom.catalog.models import Product
from backroom.customers.models import Customer
from backroom.reports.catalog import (
    ExceptionList,
    Field,
    FunctionReport,
    Measure,
    Source,
    Unit,
    register,
    sources,
)
from backroom.warranty.models import Warranty, WarrantyEvent, WarrantyStatus

W = Warranty
_TABLE = W.__table__.join(Product, Product.id == W.product_id).outerjoin(
    Customer, Customer.id == W.customer_id
)
_FIELDS = (
    Field("Warranty", W.id, "number"),
    Field("Item", Product.name),
    Field("Serial", W.serial),
    Field("Customer", Customer.name, personal=True),
    Field("Status", W.status, "code"),
    Field("Ends", W.expires_at, "datetime"),
)


_warranties = sources(
    record="warranty",
    table=_TABLE,
    id=W.id,
    branch=W.branch_id,
    user=W.created_by_id,
    shift=W.shift_id,
    category=Product.category,
    fields=_FIELDS,
    link=("/warranties/{}", W.id),
)


REGISTERED = _warranties("warranties_registered", W.created_at)
ENDING = _warranties("warranties_ending", W.expires_at, W.status != WarrantyStatus.VOIDED)
EXTENDED = Source(
    key="warranty_extensions",
    record="extension",
    table=WarrantyEvent.__table__.join(W, W.id == WarrantyEvent.warranty_id)
    .join(Product, Product.id == W.product_id)
    .outerjoin(Customer, Customer.id == W.customer_id),
    id=WarrantyEvent.id,
    at=WarrantyEvent.at,
    branch=W.branch_id,
    where=WarrantyEvent.kind == "extend",
    category=Product.category,
    fields=(*_FIELDS, Field("Extension", WarrantyEvent.detail)),
    link=("/warranties/{}", W.id),
)
CLAIMS = Source(
    key="warranty_claims",
    record="claim",
    table=RmaCase.__table__.join(Product, Product.id == RmaCase.product_id).join(
        Customer, Customer.id == RmaCase.customer_id
    ),
    id=RmaCase.id,
    at=RmaCase.created_at,
    branch=RmaCase.branch_id,
    where=RmaCase.under_warranty.is_(True),
    user=RmaCase.created_by_id,
    shift=RmaCase.shift_id,
    category=Product.category,
    fields=(
        Field("Case", RmaCase.id, "number"),
        Field("Item", Product.name),
        Field("Customer", Customer.name, personal=True),
        Field("Kind", RmaCase.kind, "code"),
    ),
    link=("/aftersales/{}", RmaCase.id),
)

register(
    FunctionReport(
        key="warranty",
        label="Warranty",
        order=56,
        main="registered",
        measures=[
            Measure("registered", "Registered", Unit.COUNT, REGISTERED),
            Measure("ending", "Ending in the period", Unit.COUNT, ENDING),
            Measure("expired", "Ended", Unit.COUNT, ENDING, where=W.status == WarrantyStatus.EXPIRED),
            Measure("extended", "Extended", Unit.COUNT, EXTENDED),
            Measure("claims", "Claims (cases under warranty)", Unit.COUNT, CLAIMS),
        ],
        exceptions=[
            ExceptionList(
                "ending",
                "Warranties ending in the period",
                ENDING,
                W.status == WarrantyStatus.ACTIVE,
                lambda f: (
                    f"#{f['Warranty']} {f['Item']} ({f['Serial'] or 'no serial'}) of {f['Customer'] or 'unknown'}: ends {f['Ends']}"
                ),
            ),
        ],
    )
)
