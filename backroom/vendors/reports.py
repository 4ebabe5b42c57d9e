"""The marketplace report set: GMV by vendor (sales in the vendor ledger), commission earned,
refunds and clawbacks by vendor, payouts made and held, and the moderation backlog. The records
behind each number name the vendor (the breakdowns are the catalog's: branch, day, ...)."""

from __future__ import annotations

from backroom.reports.catalog import ExceptionList, Field, FunctionReport, Measure, Source, Unit, register
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
    fields=(
        Field("Vendor", Vendor.name),
        Field("What", ProductChange.kind, "code"),
        Field("Status", ProductChange.status, "code"),
    ),
    link=("/vendors/{}", ProductChange.vendor_id),
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
            )
        ],
    )
)
