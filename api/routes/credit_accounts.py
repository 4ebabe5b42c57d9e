"""Credit account API: open, terms, credit sales (posted or held), payments, adjustments,
statement, aging. Limits are changed only through the credit-limit request workflow."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Session, SettingsDep, require
from api.params import Id
from backroom.auth.principal import Principal
from backroom.controls.models import GatedAction
from backroom.controls.schemas import GatedActionRead
from backroom.credit import ledger
from backroom.credit import service as credit
from backroom.credit.models import CreditAccount
from backroom.credit.schemas import (
    AccountOpen,
    AccountRead,
    Adjustment,
    AgingRead,
    CreditSale,
    EntryRead,
    HoldRead,
    OpenItemRead,
    Payment,
    SaleRead,
    StatementRead,
    Terms,
)
from backroom.customers import service as customers
from backroom.inputs import When

router = APIRouter(prefix="/api/v1/customers/{customer_id:id}/credit", tags=["credit"])


async def _account(session: AsyncSession, p: Principal, customer_id: int, action: str) -> CreditAccount:
    customer = await customers.get_customer(session, customer_id)
    p.require("credit", action, branch_id=customer.home_branch_id)
    return await credit.get_account(session, customer_id=customer_id)


async def _read(session: AsyncSession, account: CreditAccount) -> AccountRead:
    return AccountRead.model_validate((await ledger.view(session, account)).as_dict())


@router.post("", status_code=201)
async def open_account(
    session: Session, customer_id: Id, body: AccountOpen, p: Principal = require("credit", "create")
) -> AccountRead:
    """Open the customer's credit account. Idempotent."""
    customer = await customers.get_customer(session, customer_id)
    p.require("credit", "create", branch_id=customer.home_branch_id)
    acct = await ledger.open_account(session, actor=p.actor(), customer_id=customer_id, **body.model_dump())
    return await _read(session, acct)


@router.get("")
async def get_account(
    session: Session, customer_id: Id, p: Principal = require("credit", "read")
) -> AccountRead:
    return await _read(session, await _account(session, p, customer_id, "read"))


@router.put("/terms")
async def set_terms(
    session: Session, customer_id: Id, body: Terms, p: Principal = require("credit", "update")
) -> AccountRead:
    acct = await _account(session, p, customer_id, "update")
    acct = await ledger.update_terms(session, actor=p.actor(), account_id=acct.id, **body.model_dump())
    return await _read(session, acct)


@router.post("/sales", status_code=201)
async def credit_sale(
    session: Session,
    settings: SettingsDep,
    customer_id: Id,
    body: CreditSale,
    p: Principal = require("credit", "create"),
) -> SaleRead:
    """A sale on credit: posted at once, or held for approval/payment (status "held")."""
    await _account(session, p, customer_id, "create")
    res = await credit.sell_on_credit(
        session,
        customer_id=customer_id,
        data=body,
        actor=p.actor(),
        settings=settings,
    )
    return SaleRead(
        status=res.status,
        entry=EntryRead.model_validate(res.entry) if res.entry else None,
        hold=HoldRead.model_validate(res.hold) if res.hold else None,
    )


@router.post("/payments", status_code=201)
async def payment(
    session: Session, customer_id: Id, body: Payment, p: Principal = require("credit", "post")
) -> EntryRead:
    """Post a payment; pending holds of the account are told (they may now fit)."""
    await _account(session, p, customer_id, "post")
    entry = await credit.post_payment(session, customer_id=customer_id, data=body, actor=p.actor())
    return EntryRead.model_validate(entry)


@router.post("/adjustments", status_code=201, responses={202: {"model": GatedActionRead}})
async def adjustment(
    session: Session,
    settings: SettingsDep,
    response: Response,
    customer_id: Id,
    body: Adjustment,
    p: Principal = require("credit", "approve"),
) -> EntryRead | GatedActionRead:
    """A manual adjustment (signed) or a goodwill credit; finance only. Above the branch's
    threshold it waits for another finance user's approval (202 with the request)."""
    await _account(session, p, customer_id, "approve")
    out = await credit.adjust_or_request(
        session, customer_id=customer_id, data=body, actor=p.actor(), settings=settings
    )
    if isinstance(out, GatedAction):
        response.status_code = 202
        return GatedActionRead.model_validate(out)
    return EntryRead.model_validate(out)


@router.get("/statement")
async def statement(
    session: Session,
    customer_id: Id,
    start: When | None = None,
    end: When | None = None,
    p: Principal = require("credit", "read"),
) -> StatementRead:
    """Opening balance, entries and closing balance of a period (default: the last 30 days)."""
    acct = await _account(session, p, customer_id, "read")
    start, end = credit.statement_period(start, end)
    st = await ledger.statement(session, account_id=acct.id, start=start, end=end)
    return StatementRead(
        account_id=acct.id,
        start=start,
        end=end,
        currency=acct.currency,
        opening_minor=st["opening_minor"],
        closing_minor=st["closing_minor"],
        entries=[EntryRead.model_validate(e) for e in st["entries"]],
    )


@router.get("/aging")
async def aging(session: Session, customer_id: Id, p: Principal = require("credit", "read")) -> AgingRead:
    """Open invoices by days past due (FIFO allocation of payments)."""
    acct = await _account(session, p, customer_id, "read")
    ag = await ledger.aging(session, account_id=acct.id)
    return AgingRead(
        as_of=ag["as_of"],
        currency=acct.currency,
        buckets=ag["buckets"],
        total_minor=ag["total_minor"],
        unallocated_credit_minor=ag["unallocated_credit_minor"],
        items=[OpenItemRead.model_validate(i) for i in ag["items"]],
    )
