"""Credit account API: open, terms, credit sales (posted or held), payments, adjustments,
statement, aging. Limits are changed only through the credit-limit request workflow."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api import workflow_calls as wf
from api.deps import Session, require
from backroom.auth.principal import Principal
from backroom.credit import ledger
from backroom.credit.account_schemas import (
    AccountOpen,
    Adjustment,
    CreditSale,
    EntryRead,
    HoldRead,
    Payment,
    Terms,
)
from backroom.credit.errors import CreditAccountNotFound
from backroom.customers import ops
from backroom.db.base import utcnow
from backroom.errors import InvalidInput
from workflows.credit_holds import CreditHoldInput, CreditHoldWorkflow

router = APIRouter(prefix="/api/v1/customers/{customer_id}/credit", tags=["credit"])


async def account(session: AsyncSession, p: Principal, customer_id: int, action: str):
    customer = await ops.get(session, customer_id)
    p.require("credit", action, branch_id=customer.home_branch_id)
    acct = await ledger.account_for(session, customer_id)
    if not acct:
        raise CreditAccountNotFound(f"Customer {customer_id} has no credit account.")
    return acct


async def sale_and_start(
    request: Request, session: AsyncSession, p: Principal, customer_id: int, body: CreditSale
) -> ledger.SaleResult:
    """Shared by the API and the page: post or hold the sale; a hold starts credit-hold-{id}."""
    await account(session, p, customer_id, "create")
    res = await ledger.credit_sale(session, actor=p.actor(), customer_id=customer_id, **body.model_dump())
    if res.hold is not None and res.hold.status == "pending":
        hold = res.hold
        settings = request.app.state.settings
        await wf.start(
            session,
            CreditHoldWorkflow.run,
            CreditHoldInput(
                hold_id=hold.id,
                branch_id=hold.branch_id,
                customer_id=customer_id,
                title=f"Credit sale {hold.reference} over available credit",
                reason=hold.description or "Credit sale",
                amount_minor=hold.amount_minor,
                currency=hold.currency,
                requested_by_id=p.user_id,
                requested_by_name=p.full_name,
                finance_hours=settings.credit_hold_finance_hours,
                manager_hours=settings.credit_hold_manager_hours,
            ),
            workflow_id=hold.workflow_id,
            branch_id=hold.branch_id,
            customer_id=customer_id,
        )
    return res


async def pay_and_signal(
    request: Request, session: AsyncSession, p: Principal, customer_id: int, body: Payment
):
    """Shared by the API and the page: post the payment, then wake the account's pending holds."""
    acct = await account(session, p, customer_id, "post")
    entry = await ledger.post_entry(
        session,
        actor=p.actor(),
        account_id=acct.id,
        kind="payment",
        amount_minor=body.amount_minor,
        currency=body.currency,
        reference=body.reference,
        description=body.description,
    )
    pending = await ledger.pending_hold_workflows(session, account_id=acct.id)
    for wid in pending:
        await wf.signal(session, wid, CreditHoldWorkflow.payment_posted)
    return entry


def view_dict(v) -> dict:
    return v.as_dict()


@router.post("", status_code=201)
async def open_account(
    session: Session, customer_id: int, body: AccountOpen, p: Principal = require("credit", "create")
) -> dict:
    """Open the customer's credit account. Idempotent."""
    customer = await ops.get(session, customer_id)
    p.require("credit", "create", branch_id=customer.home_branch_id)
    acct = await ledger.open_account(session, actor=p.actor(), customer_id=customer_id, **body.model_dump())
    return view_dict(await ledger.view(session, acct))


@router.get("")
async def get_account(session: Session, customer_id: int, p: Principal = require("credit", "read")) -> dict:
    acct = await account(session, p, customer_id, "read")
    return view_dict(await ledger.view(session, acct))


@router.put("/terms")
async def set_terms(
    session: Session, customer_id: int, body: Terms, p: Principal = require("credit", "update")
) -> dict:
    acct = await account(session, p, customer_id, "update")
    acct = await ledger.update_terms(session, actor=p.actor(), account_id=acct.id, **body.model_dump())
    return view_dict(await ledger.view(session, acct))


@router.post("/sales", status_code=201)
async def credit_sale(
    session: Session,
    customer_id: int,
    body: CreditSale,
    request: Request,
    p: Principal = require("credit", "create"),
) -> dict:
    """A sale on credit: posted at once, or held for approval/payment (status "held")."""
    res = await sale_and_start(request, session, p, customer_id, body)
    return {
        "status": res.status,
        "entry": EntryRead.model_validate(res.entry).model_dump(mode="json") if res.entry else None,
        "hold": HoldRead.model_validate(res.hold).model_dump(mode="json") if res.hold else None,
    }


@router.post("/payments", status_code=201)
async def payment(
    session: Session,
    customer_id: int,
    body: Payment,
    request: Request,
    p: Principal = require("credit", "post"),
) -> dict:
    """Post a payment; pending holds of the account are told (they may now fit)."""
    entry = await pay_and_signal(request, session, p, customer_id, body)
    return EntryRead.model_validate(entry).model_dump(mode="json")


@router.post("/adjustments", status_code=201)
async def adjustment(
    session: Session, customer_id: int, body: Adjustment, p: Principal = require("credit", "approve")
) -> dict:
    """A manual adjustment (signed) or a goodwill credit; finance only."""
    acct = await account(session, p, customer_id, "approve")
    amount = body.amount_minor
    if body.kind == "goodwill" and amount < 0:
        raise InvalidInput("A goodwill credit is a positive amount.", field="amount_minor")
    entry = await ledger.post_entry(
        session,
        actor=p.actor(),
        account_id=acct.id,
        kind=body.kind,
        amount_minor=amount,
        currency=body.currency,
        reference=body.reference,
        description=body.description,
    )
    return EntryRead.model_validate(entry).model_dump(mode="json")


def period(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    end = end or utcnow()
    start = start or end - timedelta(days=30)
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("Give start and end with a time zone (e.g. 2026-01-01T00:00:00Z).", field="start")
    return start, end


@router.get("/statement")
async def statement(
    session: Session,
    customer_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
    p: Principal = require("credit", "read"),
) -> dict:
    """Opening balance, entries and closing balance of a period (default: the last 30 days)."""
    acct = await account(session, p, customer_id, "read")
    start, end = period(start, end)
    st = await ledger.statement(session, account_id=acct.id, start=start, end=end)
    return {
        **st,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "currency": acct.currency,
        "entries": [EntryRead.model_validate(e).model_dump(mode="json") for e in st["entries"]],
    }


@router.get("/aging")
async def aging(session: Session, customer_id: int, p: Principal = require("credit", "read")) -> dict:
    """Open invoices by days past due (FIFO allocation of payments)."""
    acct = await account(session, p, customer_id, "read")
    ag = await ledger.aging(session, account_id=acct.id)
    return {
        "as_of": ag["as_of"].isoformat(),
        "buckets": ag["buckets"],
        "total_minor": ag["total_minor"],
        "unallocated_credit_minor": ag["unallocated_credit_minor"],
        "currency": acct.currency,
        "items": [
            {
                "entry_id": i.entry_id,
                "reference": i.reference,
                "due_at": i.due_at.isoformat(),
                "open_minor": i.open_minor,
                "days_past_due": i.days_past_due,
                "bucket": i.bucket,
            }
            for i in ag["items"]
        ],
    }
