"""Credit use cases the edges share: credit sales that may start a hold's approval, payments
that wake pending holds, adjustments and goodwill, limit-change requests, statement periods.
Each writes its rows, audit events and workflow outbox in the caller's transaction (flush only);
the ledger mechanics live in ledger.py, the limit-request records in limits.py."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit.context import Actor
from backroom.controls import service as controls
from backroom.controls import thresholds
from backroom.controls.models import GatedAction, GatedKind
from backroom.credit import flow, ledger, limits
from backroom.credit.errors import CreditAccountNotFound, CurrencyMismatch
from backroom.credit.models import CreditAccount, CreditEntry, CreditLimitRequest, EntryKind, HoldStatus
from backroom.credit.schemas import Adjustment, CreditSale, LimitChangeIn, Payment
from backroom.customers.service import get_customer, writable
from backroom.db.base import utcnow
from backroom.errors import InvalidInput, Refused
from backroom.money import format_money
from backroom.settings import Settings
from backroom.starts import service as starts

STATEMENT_DAYS = 30  # a statement without dates covers the last 30 days


async def get_account(session: AsyncSession, *, customer_id: int) -> CreditAccount:
    """The customer's credit account, or CreditAccountNotFound. Read-only."""
    account = await ledger.account_for(session, customer_id)
    if account is None:
        raise CreditAccountNotFound(f"Customer {customer_id} has no credit account.")
    return account


async def sell_on_credit(
    session: AsyncSession,
    *,
    customer_id: int,
    data: CreditSale,
    actor: Actor,
    settings: Settings,
) -> ledger.SaleResult:
    """Post a sale on credit, or hold it when it exceeds available credit and queue
    CreditHoldWorkflow (credit-hold-{id}) to decide (within settings.credit_hold_*_hours).
    Idempotent by the sale's reference."""
    await writable(session, customer_id)
    res = await ledger.credit_sale(session, actor=actor, customer_id=customer_id, **data.model_dump())
    hold = res.hold
    if hold is not None and hold.status == HoldStatus.pending:
        await starts.enqueue(
            session,
            run=flow.HOLD_WORKFLOW,
            arg=flow.CreditHoldInput(
                hold_id=hold.id,
                branch_id=hold.branch_id,
                customer_id=customer_id,
                title=f"Credit sale {hold.reference} over available credit",
                reason=hold.description or "Credit sale",
                amount_minor=hold.amount_minor,
                currency=hold.currency,
                requested_by_id=actor.user_id,
                requested_by_name=actor.name,
                finance_hours=settings.credit_hold_finance_hours,
                manager_hours=settings.credit_hold_manager_hours,
            ),
            workflow_id=hold.workflow_id,
            branch_id=hold.branch_id,
            customer_id=customer_id,
        )
    return res


async def post_payment(
    session: AsyncSession, *, customer_id: int, data: Payment, actor: Actor
) -> CreditEntry:
    """Post a payment and tell each pending hold of the account (it may fit now); cash goes
    into the drawer of the actor's open shift in the same transaction. Idempotent by reference
    for the ledger and the drawer; each call signals the holds again, which they tolerate."""
    from backroom.branches import cash
    from backroom.branches.models import CashKind

    account = await get_account(session, customer_id=customer_id)
    entry = await ledger.post_entry(
        session,
        actor=actor,
        account_id=account.id,
        kind=EntryKind.payment,
        **data.model_dump(exclude={"tender"}),
    )
    if data.tender == "cash":
        customer = await get_customer(session, customer_id)
        await cash.record(
            session,
            actor=actor,
            kind=CashKind.CREDIT_PAYMENT,
            amount_minor=data.amount_minor,
            currency=data.currency,
            reason=f"Credit payment from {customer.name}",
            reference=f"credit:{data.reference}",
        )
    for workflow_id in await ledger.pending_hold_workflows(session, account_id=account.id):
        await starts.enqueue_signal(session, workflow_id=workflow_id, signal=flow.HOLD_PAYMENT_POSTED)
    return entry


async def adjust(session: AsyncSession, *, customer_id: int, data: Adjustment, actor: Actor) -> CreditEntry:
    """A manual adjustment (signed) or a goodwill credit (always positive). Idempotent by reference."""
    account = await get_account(session, customer_id=customer_id)
    if data.kind == EntryKind.goodwill and data.amount_minor < 0:
        raise Refused("A goodwill credit is a positive amount.", field="amount_minor")
    return await ledger.post_entry(session, actor=actor, account_id=account.id, **data.model_dump())


async def adjust_or_request(
    session: AsyncSession, *, customer_id: int, data: Adjustment, actor: Actor, settings: Settings
) -> CreditEntry | GatedAction:
    """A manual adjustment or goodwill credit from staff: up to the branch's threshold
    (CREDIT_ADJUSTMENT_APPROVAL_OVER_MINOR, GOODWILL_APPROVAL_OVER_MINOR) it posts at once;
    above, it is requested and posted by FourEyesWorkflow once another finance user approves.
    Idempotent by reference once posted."""
    account = await get_account(session, customer_id=customer_id)
    await writable(session, customer_id)
    if data.kind == EntryKind.goodwill and data.amount_minor < 0:
        raise Refused("A goodwill credit is a positive amount.", field="amount_minor")
    if data.currency.upper() != account.currency:
        raise CurrencyMismatch(
            f"The account is in {account.currency}, not {data.currency}.", field="currency"
        )
    if (posted := await ledger.entry_by_reference(session, data.reference)) is not None:
        return posted
    name = (
        "goodwill_approval_over_minor"
        if data.kind == EntryKind.goodwill
        else "credit_adjustment_approval_over_minor"
    )
    if abs(data.amount_minor) <= await thresholds.in_branch(session, settings, name, account.branch_id):
        return await adjust(session, customer_id=customer_id, data=data, actor=actor)
    customer = await get_customer(session, customer_id)
    return await controls.request(
        session,
        actor=actor,
        kind=GatedKind.credit_adjustment,
        branch_id=account.branch_id,
        subject_type="customer",
        subject_id=str(customer_id),
        title=f"Credit {data.kind} of {format_money(data.amount_minor, account.currency)} for {customer.name}",
        reason=data.description,
        payload={"customer_id": customer_id, "adjustment": data.model_dump(mode="json")},
        amount_minor=data.amount_minor,
        currency=account.currency,
        hours=settings.four_eyes_hours,
    )


async def request_limit_change(
    session: AsyncSession,
    *,
    customer_id: int,
    data: LimitChangeIn,
    actor: Actor,
    settings: Settings,
) -> CreditLimitRequest:
    """Record a limit-change request and queue CreditLimitChangeWorkflow (credit-limit-{id}):
    finance, then the branch manager, decide in the inbox (settings.credit_limit_*_hours). One
    pending request per customer."""
    customer = await get_customer(session, customer_id)
    req = await limits.request_change(session, actor=actor, customer_id=customer_id, data=data)
    await starts.enqueue(
        session,
        run=flow.LIMIT_CHANGE_WORKFLOW,
        arg=flow.LimitChangeInput(
            request_id=req.id,
            customer_id=customer.id,
            customer_name=customer.name,
            branch_id=req.branch_id,
            current_limit_minor=req.current_limit_minor,
            requested_limit_minor=req.requested_limit_minor,
            currency=req.currency,
            reason=req.reason,
            requested_by_id=actor.user_id,
            requested_by_name=actor.name,
            finance_hours=settings.credit_limit_finance_hours,
            manager_hours=settings.credit_limit_manager_hours,
            rev=flow.LIMIT_REV,
        ),
        workflow_id=req.workflow_id,
        branch_id=req.branch_id,
        customer_id=customer.id,
    )
    return req


def statement_period(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The period of a statement: up to now and the 30 days before unless given; both ends
    must carry a time zone. Pure."""
    end = end or utcnow()
    start = start or end - timedelta(days=STATEMENT_DAYS)
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("Give start and end with a time zone (e.g. 2026-01-01T00:00:00Z).", field="start")
    return start, end
