"""The marketplace report set: GMV by vendor (sales in the vendor ledger), commission earned,
refunds and clawbacks by vendor, payouts made and held, vendors' parcels shipped, their
fulfilment time and late shipments, and the moderation backlog. The records behind each number
name the vendor; the report's category breakdown is by vendor (besides branch, day, ...)."""

from __future__ import annotations

from sqlalchemy import literal

from backroom.orders.models import Parcel
from backroom.reports.catalog import (
    ExceptionList,
    Field,
    FunctionReport,
    Measure,
    Source,
    Unit,
    register,
    seconds_between,
)
from backroom.settings import get_settings
from backroom.vendors.models import EntryKind, LedgerEntry, Payout, PayoutStatus, ProductChange, Vendor

LEDGER = Source(
    key="vendor_ledger",
    record="vendor ledger entry",
    table=LedgerEntry.__table__.join(Vendor, Vendor.id == LedgerEntry.vendor_id),
    id=LedgerEntry.id,
    at=LedgerEntry.at,
    branch=Vendor.branch_id,
    user=LedgerEntry.created_by_id,
    currency=LedgerEntry.currency,
    category=Vendor.name,
    fields=(
        Field("Vendor", Vendor.name),
        Field("Entry", LedgerEntry.kind, "code"),
        Field("Amount", LedgerEntry.amount_minor, "money"),
        Field("Order", LedgerEntry.order_id, "number"),
        Field("Note", LedgerEntry.note),
    ),
    link=("/vendors/{}", LedgerEntry.vendor_id),
)

PAYOUTS = Source(
    key="vendor_payouts",
    record="vendor payout",
    table=Payout.__table__.join(Vendor, Vendor.id == Payout.vendor_id),
    id=Payout.id,
    at=Payout.created_at,
    branch=Payout.branch_id,
    currency=Payout.currency,
    category=Vendor.name,
    fields=(
        Field("Vendor", Vendor.name),
        Field("Amount", Payout.amount_minor, "money"),
        Field("Status", Payout.status, "code"),
        Field("Paid", Payout.paid_at, "datetime"),
    ),
    link=("/vendors/{}", Payout.vendor_id),
)

CHANGES = Source(
    key="vendor_product_changes",
    record="catalog change from a vendor",
    table=ProductChange.__table__.join(Vendor, Vendor.id == ProductChange.vendor_id),
    id=ProductChange.id,
    at=ProductChange.created_at,
    branch=Vendor.branch_id,
    category=Vendor.name,
    fields=(
        Field("Vendor", Vendor.name),
        Field("What", ProductChange.kind, "code"),
        Field("Status", ProductChange.status, "code"),
    ),
    link=("/vendors/{}", ProductChange.vendor_id),
)

SHIPPED = Source(
    key="vendor_parcels_shipped",
    record="parcel a vendor shipped",
    table=Parcel.__table__.join(Vendor, Vendor.id == Parcel.vendor_id),
    id=Parcel.id,
    at=Parcel.shipped_at,
    branch=Parcel.branch_id,
    user=Parcel.created_by_id,
    category=Vendor.name,
    fields=(
        Field("Vendor", Vendor.name),
        Field("Order", Parcel.order_id, "number"),
        Field("Ordered", Parcel.created_at, "datetime"),
        Field("Shipped", Parcel.shipped_at, "datetime"),
        Field("Tracking", Parcel.tracking_number),
    ),
    link=("/orders/{}", Parcel.order_id),
)
# A vendor parcel is late when it ships more than VENDOR_SHIP_DAYS after the order was placed
# (the order workflow's deadline runs from picking, which starts once the payment is held).
LATE = seconds_between(Parcel.created_at, Parcel.shipped_at) > literal(
    get_settings().vendor_ship_days * 86400
)

HELD = Payout.status.in_((PayoutStatus.PENDING_APPROVAL, PayoutStatus.FROZEN))

register(
    FunctionReport(
        key="marketplace",
        label="Marketplace",
        order=48,
        # Sales and commissions by vendor: the catalog owners, finance and auditors, not every
        # role that lists products (vendors/list).
        permission="catalog",
        main="gmv",
        category_label="Vendor",
        measures=[
            Measure(
                "gmv",
                "GMV (vendors' sales)",
                Unit.MONEY,
                LEDGER,
                value=LedgerEntry.amount_minor,
                where=LedgerEntry.kind == EntryKind.SALE,
            ),
            Measure(
                "commission",
                "Commission earned",
                Unit.MONEY,
                LEDGER,
                value=-LedgerEntry.amount_minor,
                where=LedgerEntry.kind == EntryKind.COMMISSION,
            ),
            Measure(
                "refunds",
                "Refunds and clawbacks",
                Unit.MONEY,
                LEDGER,
                value=-LedgerEntry.amount_minor,
                where=LedgerEntry.kind.in_((EntryKind.REFUND, EntryKind.CLAWBACK)),
            ),
            Measure(
                "paid_out",
                "Payouts made",
                Unit.MONEY,
                PAYOUTS,
                value=Payout.amount_minor,
                where=Payout.status == PayoutStatus.PAID,
            ),
            Measure(
                "held",
                "Payouts held (finance, frozen)",
                Unit.MONEY,
                PAYOUTS,
                value=Payout.amount_minor,
                where=HELD,
            ),
            Measure("shipped", "Parcels vendors shipped", Unit.COUNT, SHIPPED),
            Measure(
                "ship_seconds",
                "Time to ship (total)",
                Unit.DURATION,
                SHIPPED,
                value=seconds_between(Parcel.created_at, Parcel.shipped_at),
                hidden=True,
            ),
            Measure(
                "time_to_ship",
                "Average time from order to shipped",
                Unit.DURATION,
                ratio=("ship_seconds", "shipped"),
            ),
            Measure("late", "Shipped late", Unit.COUNT, SHIPPED, where=LATE),
            Measure("late_rate", "Share shipped late", Unit.RATIO, ratio=("late", "shipped")),
            Measure("submitted", "Catalog changes submitted", Unit.COUNT, CHANGES),
            Measure(
                "backlog",
                "Moderation backlog (still waiting)",
                Unit.COUNT,
                CHANGES,
                where=ProductChange.status == "pending",
            ),
        ],
        exceptions=[
            ExceptionList(
                "payouts_held",
                "Payouts waiting for finance or frozen (suspended vendor)",
                PAYOUTS,
                HELD,
                lambda f: f"{f['Vendor']}: {f['Amount']} {f['Status']}",
            ),
            ExceptionList(
                "shipped_late",
                "Vendors' parcels shipped late",
                SHIPPED,
                LATE,
                lambda f: (
                    f"{f['Vendor']}: order #{f['Order']} ordered {f['Ordered']}, shipped {f['Shipped']}"
                ),
            ),
        ],
    )
)
