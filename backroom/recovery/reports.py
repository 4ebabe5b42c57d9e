"""The abandoned-carts report set: carts abandoned (count, value), reminders sent by step,
carts recovered and the revenue they brought, and the recovery rate per reminder step."""

from __future__ import annotations

from backroom.carts.models import Cart
from backroom.recovery.models import CartRecovery, CartReminder
from backroom.reports.catalog import ExceptionList, Field, FunctionReport, Measure, Source, Unit, register

ABANDONED = Source(
    key="abandoned_carts",
    record="abandoned cart",
    table=CartRecovery.__table__.join(Cart, Cart.id == CartRecovery.cart_id),
    id=CartRecovery.cart_id,
    at=CartRecovery.abandoned_at,
    branch=CartRecovery.branch_id,
    currency=CartRecovery.currency,
    where=CartRecovery.abandoned_at.is_not(None),
    fields=(
        Field("Cart", CartRecovery.cart_id, "number"),
        Field("Value", Cart.total_minor, "money"),
        Field("Reminders", CartRecovery.reminders_sent, "number"),
        Field("Recovered", CartRecovery.recovered_at, "datetime"),
        Field("Recovered revenue", CartRecovery.recovered_minor, "money"),
    ),
    link=("/customers/{}", CartRecovery.customer_id),
)

REMINDERS = Source(
    key="cart_reminders",
    record="cart reminder",
    table=CartReminder.__table__,
    id=CartReminder.id,
    at=CartReminder.at,
    branch=CartReminder.branch_id,
    where=CartReminder.sent.is_(True),
    fields=(
        Field("Cart", CartReminder.cart_id, "number"),
        Field("Step", CartReminder.step, "number"),
        Field("Code", CartReminder.code),
    ),
)

RECOVERED = CartRecovery.recovered_at.is_not(None)


def _step(n: int) -> list[Measure]:
    return [
        Measure(f"sent_{n}", f"Reminder {n} sent", Unit.COUNT, REMINDERS, where=CartReminder.step == n),
        Measure(
            f"recovered_{n}",
            f"Recovered after reminder {n}",
            Unit.COUNT,
            ABANDONED,
            where=RECOVERED & (CartRecovery.recovered_step == n),
            hidden=True,
        ),
        Measure(
            f"rate_{n}", f"Recovery rate of reminder {n}", Unit.RATIO, ratio=(f"recovered_{n}", f"sent_{n}")
        ),
    ]


register(
    FunctionReport(
        key="abandoned_carts",
        label="Abandoned carts",
        order=42,
        main="recovered_revenue",
        measures=[
            Measure("abandoned", "Carts abandoned", Unit.COUNT, ABANDONED),
            Measure("abandoned_value", "Value abandoned", Unit.MONEY, ABANDONED, value=Cart.total_minor),
            Measure("reminders", "Reminders sent", Unit.COUNT, REMINDERS),
            Measure("recovered", "Carts recovered", Unit.COUNT, ABANDONED, where=RECOVERED),
            Measure("recovery_rate", "Recovery rate", Unit.RATIO, ratio=("recovered", "abandoned")),
            Measure(
                "recovered_revenue",
                "Recovered revenue",
                Unit.MONEY,
                ABANDONED,
                value=CartRecovery.recovered_minor,
                where=RECOVERED,
            ),
            *_step(1),
            *_step(2),
            *_step(3),
            Measure(
                "manual", "Reminders sent by hand", Unit.COUNT, REMINDERS, where=CartReminder.manual.is_(True)
            ),
        ],
        exceptions=[
            ExceptionList(
                "unsubscribed",
                "Customers who unsubscribed from cart reminders",
                ABANDONED,
                CartRecovery.unsubscribed_at.is_not(None),
                lambda f: (
                    f"Cart {f['Cart']}: {f['Value']}, {f['Reminders']} reminder(s) before unsubscribing"
                ),
            )
        ],
    )
)
