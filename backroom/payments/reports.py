"""The payments report set: authorizations, captures, declines, 3-D Secure abandoned, refunds,
from the payments ledger (one row per money movement or failure)."""

from __future__ import annotations

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import aliased

from backroom.orders.models import Order, PaymentEntry
from backroom.reports import rollups
from backroom.reports.catalog import ExceptionList, Field, FunctionReport, Measure, Source, Unit, register

P = PaymentEntry
_earlier = aliased(PaymentEntry)
# A failure after the bank asked the customer to authenticate: the customer gave up on 3-D Secure.
_after_challenge = exists(
    select(_earlier.id).where(_earlier.order_id == P.order_id, _earlier.kind == "action_required")
)

LEDGER = Source(
    key="payments",
    record="payment",
    table=P.__table__.join(Order, Order.id == P.order_id),
    id=P.id,
    at=P.created_at,
    branch=P.branch_id,
    user=P.created_by_id,
    shift=P.shift_id,
    currency=P.currency,
    fields=(
        Field("Order", P.order_id, "number"),
        Field("Kind", P.kind, "code"),
        Field("Status", P.status, "code"),
        Field("Amount", P.amount_minor, "money"),
        Field("Customer", Order.ship_name, personal=True),
        Field("Message", P.message),
    ),
    link=("/orders/{}", P.order_id),
)

FAILED = and_(P.kind == "failure")

REPORT = register(
    FunctionReport(
        key="payments",
        label="Payments",
        order=20,
        main="captured_value",
        measures=[
            Measure("authorized", "Payments authorized", Unit.COUNT, LEDGER, where=P.kind == "authorization"),
            Measure(
                "authorized_value",
                "Value authorized",
                Unit.MONEY,
                LEDGER,
                value=P.amount_minor,
                where=P.kind == "authorization",
            ),
            Measure("captured", "Captures", Unit.COUNT, LEDGER, where=P.kind == "capture"),
            Measure(
                "captured_value",
                "Value captured",
                Unit.MONEY,
                LEDGER,
                value=P.amount_minor,
                where=P.kind == "capture",
            ),
            Measure("declined", "Declined", Unit.COUNT, LEDGER, where=and_(FAILED, P.status == "declined")),
            Measure("failed", "Failed (all causes)", Unit.COUNT, LEDGER, where=FAILED),
            Measure(
                "three_ds_abandoned",
                "3-D Secure abandoned",
                Unit.COUNT,
                LEDGER,
                where=and_(FAILED, _after_challenge),
            ),
            Measure(
                "attempts",
                "Authorization attempts",
                Unit.COUNT,
                LEDGER,
                where=P.kind.in_(("authorization", "failure")),
                hidden=True,
            ),
            Measure("decline_rate", "Failure rate", Unit.RATIO, ratio=("failed", "attempts")),
            Measure("refunds", "Refunds", Unit.COUNT, LEDGER, where=P.kind == "refund"),
            Measure(
                "refunded_value",
                "Value refunded",
                Unit.MONEY,
                LEDGER,
                value=P.amount_minor,
                where=P.kind == "refund",
            ),
        ],
        exceptions=[
            ExceptionList(
                "payment_failed",
                "Failed payments",
                LEDGER,
                FAILED,
                lambda f: (
                    f"Order #{f['Order']} ({f['Customer']}): {f['Status']}"
                    + (f" — {f['Message']}" if f["Message"] else "")
                ),
            )
        ],
    )
)

# Daily rollups (backroom/reports/rollups.py): every measure that depends on the ledger row alone.
# "3-D Secure abandoned" looks at the order's other rows too and stays on the records.
rollups.register(
    LEDGER,
    [
        REPORT.measure(n)
        for n in (
            "authorized",
            "authorized_value",
            "captured",
            "captured_value",
            "declined",
            "failed",
            "attempts",
            "refunds",
            "refunded_value",
        )
    ],
    [rollups.Track(PaymentEntry)],
)
