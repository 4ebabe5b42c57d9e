"""The credit report set: credit sales and payments from the ledger, the overdue balance at the
period's end, sales held for approval and released, accounts put on hold for overdue debt,
and credit-limit changes (from the audit chain, which records each at its exact time)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, and_, case, cast, func, select

from backroom.audit.models import AuditEvent
from backroom.credit.models import CreditAccount, CreditEntry, CreditHold
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

E = CreditEntry

ENTRIES = Source(
    key="credit_entries",
    record="ledger entry",
    table=E.__table__.join(Customer, Customer.id == E.customer_id),
    id=E.id,
    at=E.occurred_at,
    branch=E.branch_id,
    user=E.created_by_id,
    shift=E.shift_id,
    currency=E.currency,
    fields=(
        Field("Customer", Customer.name, personal=True),
        Field("Kind", E.kind, "code"),
        Field("Amount", E.amount_minor, "money"),
        Field("Reference", E.reference),
        Field("Due", E.due_at, "datetime"),
    ),
    link=("/credit/customers/{}", E.customer_id),
)


def overdue_at(end: datetime) -> Source:
    """Per account, what was owed past its due date at `end`. Payments settle the oldest sales
    first, so the part not yet due is the newest sales: overdue = balance - sales due later."""
    per_account = (
        select(
            CreditAccount.id.label("id"),
            func.max(E.occurred_at).label("at"),
            CreditAccount.branch_id.label("branch_id"),
            CreditAccount.currency.label("currency"),
            CreditAccount.customer_id.label("customer_id"),
            Customer.name.label("customer"),
            (
                func.sum(E.amount_minor)
                - func.coalesce(func.sum(E.amount_minor).filter(and_(E.kind == "sale", E.due_at >= end)), 0)
            ).label("owed"),
        )
        .join(E, E.account_id == CreditAccount.id)
        .join(Customer, Customer.id == CreditAccount.customer_id)
        .where(E.occurred_at < end)
        .group_by(
            CreditAccount.id,
            CreditAccount.branch_id,
            CreditAccount.currency,
            CreditAccount.customer_id,
            Customer.name,
        )
        .subquery("overdue")
    )
    c = per_account.c
    overdue = select(
        *(col for col in c if col.key != "owed"), case((c.owed > 0, c.owed), else_=0).label("overdue_minor")
    ).subquery("overdue_accounts")
    o = overdue.c
    return Source(
        key="credit_overdue",
        record="credit account",
        table=overdue,
        id=o.id,
        at=o.at,
        branch=o.branch_id,
        where=o.overdue_minor > 0,
        currency=o.currency,
        fields=(Field("Customer", o.customer, personal=True), Field("Overdue", o.overdue_minor, "money")),
        link=("/credit/customers/{}", o.customer_id),
        as_of=overdue_at,
    )


# The declared shape; reports rebuild it for each period end.
OVERDUE = overdue_at(datetime(2000, 1, 1))

HOLDS = Source(
    key="credit_holds",
    record="held sale",
    table=CreditHold.__table__.join(Customer, Customer.id == CreditHold.customer_id),
    id=CreditHold.id,
    at=CreditHold.created_at,
    branch=CreditHold.branch_id,
    user=CreditHold.created_by_id,
    shift=CreditHold.shift_id,
    currency=CreditHold.currency,
    fields=(
        Field("Customer", Customer.name, personal=True),
        Field("Amount", CreditHold.amount_minor, "money"),
        Field("Reference", CreditHold.reference),
        Field("Status", CreditHold.status, "code"),
    ),
    link=("/credit/customers/{}", CreditHold.customer_id),
)


def _audit_on_accounts(key: str, record: str, actions: tuple[str, ...]) -> Source:
    return audit_source(
        key,
        record,
        actions,
        table=AuditEvent.__table__.join(
            CreditAccount, AuditEvent.entity_id == cast(CreditAccount.id, String)
        ).join(Customer, Customer.id == CreditAccount.customer_id),
        fields=(Field("Customer", Customer.name, personal=True),),
        link=("/credit/customers/{}", CreditAccount.customer_id),
    )


def _audit_on_holds(key: str, record: str, actions: tuple[str, ...]) -> Source:
    return audit_source(
        key,
        record,
        actions,
        table=AuditEvent.__table__.join(CreditHold, AuditEvent.entity_id == cast(CreditHold.id, String)).join(
            Customer, Customer.id == CreditHold.customer_id
        ),
        fields=(Field("Customer", Customer.name, personal=True),),
        link=("/credit/customers/{}", CreditHold.customer_id),
    )


HOLDS_RELEASED = _audit_on_holds(
    "credit_holds_released", "held sale", ("credit_hold.approved", "credit_hold.paid")
)
ACCOUNTS_HELD = _audit_on_accounts("credit_accounts_held", "credit account", ("credit_account.hold",))
ACCOUNTS_RELEASED = _audit_on_accounts(
    "credit_accounts_released", "credit account", ("credit_account.release",)
)
LIMIT_CHANGES = audit_source(
    "credit_limit_changes",
    "credit limit change",
    ("credit_limit.apply",),
    table=AuditEvent.__table__.join(Customer, AuditEvent.entity_id == cast(Customer.id, String)),
    fields=(Field("Customer", Customer.name, personal=True),),
    link=("/credit/customers/{}", Customer.id),
)

register(
    FunctionReport(
        key="credit",
        label="Customer credit",
        order=60,
        main="sales_value",
        measures=[
            Measure("sales", "Credit sales", Unit.COUNT, ENTRIES, where=E.kind == "sale"),
            Measure(
                "sales_value",
                "Credit sales value",
                Unit.MONEY,
                ENTRIES,
                value=E.amount_minor,
                where=E.kind == "sale",
            ),
            Measure("payments", "Payments received", Unit.COUNT, ENTRIES, where=E.kind == "payment"),
            Measure(
                "payments_value",
                "Payments value",
                Unit.MONEY,
                ENTRIES,
                value=-E.amount_minor,
                where=E.kind == "payment",
            ),
            Measure(
                "overdue",
                "Overdue balance at period end",
                Unit.MONEY,
                OVERDUE,
                value=OVERDUE.table.c.overdue_minor,
            ),
            Measure("overdue_accounts", "Accounts overdue at period end", Unit.COUNT, OVERDUE),
            Measure("holds_raised", "Sales held over the limit", Unit.COUNT, HOLDS),
            Measure("holds_released", "Held sales released", Unit.COUNT, HOLDS_RELEASED),
            Measure("accounts_held", "Accounts put on hold (overdue)", Unit.COUNT, ACCOUNTS_HELD),
            Measure("accounts_released", "Accounts released from hold", Unit.COUNT, ACCOUNTS_RELEASED),
            Measure("limit_changes", "Credit-limit changes", Unit.COUNT, LIMIT_CHANGES),
        ],
        exceptions=[
            ExceptionList(
                "account_overdue",
                "Accounts overdue at the period's end",
                OVERDUE,
                None,
                lambda f: f"{f['Customer']}: {f['Overdue']} past due",
            ),
            ExceptionList(
                "account_held",
                "Accounts put on hold for overdue debt",
                ACCOUNTS_HELD,
                ACCOUNTS_HELD.where,
                lambda f: f"{f['Customer']}: account put on hold ({f['By']})",
            ),
        ],
    )
)
