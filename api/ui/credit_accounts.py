"""Staff page of a customer's credit account: balance, statement, aging, sales, payments, holds."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.deps import Session, SettingsDep, require
from api.params import Id
from api.ui.common import parse_form, redirect, render
from api.validation import messages, summary
from backroom.auth.principal import Principal
from backroom.credit import ledger
from backroom.credit import service as credit
from backroom.credit.schemas import AccountOpen, CreditSale, Payment, Terms
from backroom.customers import service as customers
from backroom.errors import AppError
from backroom.money import parse_money

router = APIRouter(include_in_schema=False)
NAV = [("Credit", "/credit", ("credit", "list"), 45)]


class MoneyForm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: str = Field(min_length=1, max_length=20)
    reference: str = Field(min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=500)
    tender: Literal["cash", "card", "bank_transfer", "other"] = "other"  # payments only


@router.get("/credit")
async def choose_account(request: Request, customer: str = "", p: Principal = require("credit", "list")):
    """Choose a customer (the picker) to open their credit account."""
    if customer.strip().isdigit():
        return redirect(f"/credit/customers/{int(customer)}")
    errors = {"customer": "Choose a customer from the list"} if customer else {}
    return render(request, "custops/credit_choose.html", p, values={"customer": customer}, errors=errors)


@router.get("/credit/customers/{customer_id}")
async def account_page(
    session: Session,
    customer_id: Id,
    request: Request,
    start: date | None = None,
    end: date | None = None,
    p: Principal = require("credit", "read"),
):
    customer = await customers.get_customer(session, customer_id)
    p.require("credit", "read", branch_id=customer.home_branch_id)
    acct = await ledger.account_for(session, customer_id)
    ctx = {"customer": customer, "credit": None}
    if acct:
        end_dt = datetime.combine(end, time.min, UTC) + timedelta(days=1) if end else None
        start_dt = datetime.combine(start, time.min, UTC) if start else None
        s, e = credit.statement_period(start_dt, end_dt)
        holds = await ledger.recent_holds(session, account_id=acct.id)
        ctx.update(
            credit=await ledger.view(session, acct),
            statement=await ledger.statement(session, account_id=acct.id, start=s, end=e),
            aging=await ledger.aging(session, account_id=acct.id),
            holds=holds,
            start=s.date(),
            end=(e - timedelta(seconds=1)).date(),
        )
    return render(request, "custops/credit_account.html", p, **ctx)


@router.post("/credit/customers/{customer_id}/open")
async def open_account(
    session: Session, customer_id: Id, request: Request, p: Principal = require("credit", "create")
):
    customer = await customers.get_customer(session, customer_id)
    p.require("credit", "create", branch_id=customer.home_branch_id)
    body, errors, _ = await parse_form(request, AccountOpen)
    if body is None:
        return redirect(f"/credit/customers/{customer_id}", flash=f"Not opened: {summary(errors)}")
    await ledger.open_account(session, actor=p.actor(), customer_id=customer_id, **body.model_dump())
    return redirect(f"/credit/customers/{customer_id}", flash="Credit account opened.")


@router.post("/credit/customers/{customer_id}/terms")
async def set_terms(
    session: Session, customer_id: Id, request: Request, p: Principal = require("credit", "update")
):
    """Change payment terms and grace days (finance)."""
    customer = await customers.get_customer(session, customer_id)
    p.require("credit", "update", branch_id=customer.home_branch_id)
    acct = await credit.get_account(session, customer_id=customer_id)
    body, errors, _ = await parse_form(request, Terms)
    if body is None:
        return redirect(
            f"/credit/customers/{customer_id}",
            flash=f"Not saved: {summary(errors)}",
        )
    await ledger.update_terms(session, actor=p.actor(), account_id=acct.id, **body.model_dump())
    return redirect(f"/credit/customers/{customer_id}", flash="Terms saved.")


@router.post("/credit/customers/{customer_id}/{what}")
async def post_money(
    session: Session,
    settings: SettingsDep,
    customer_id: Id,
    what: str,
    request: Request,
    p: Principal = require("credit", "read"),
):
    """A credit sale (credit/create) or a payment (credit/post) entered on the page."""
    url = f"/credit/customers/{customer_id}"
    customer = await customers.get_customer(session, customer_id)
    actions = {"sale": "create", "payment": "post"}
    if what not in actions:
        return redirect(url, flash="Unknown action.")
    p.require("credit", actions[what], branch_id=customer.home_branch_id)
    body, errors, _ = await parse_form(request, MoneyForm)
    if body is None:
        return redirect(url, flash=f"Not saved: {summary(errors)}")
    try:
        amount = parse_money(body.amount, customer.currency)
        data = {
            "amount_minor": amount,
            "currency": customer.currency,
            "reference": body.reference,
            "description": body.description,
        }
        async with session.begin_nested():  # a refusal undoes this attempt only
            if what == "sale":
                res = await credit.sell_on_credit(
                    session,
                    customer_id=customer_id,
                    data=CreditSale(**data),
                    actor=p.actor(),
                    settings=settings,
                )
                msg = (
                    "Sale posted."
                    if res.status == "posted"
                    else "Over available credit: the sale waits for approval or a payment."
                )
            else:
                await credit.post_payment(
                    session,
                    customer_id=customer_id,
                    data=Payment(**data, tender=body.tender),
                    actor=p.actor(),
                )
                msg = "Payment posted."
    except ValidationError as exc:  # e.g. an amount beyond what the ledger takes at once
        return redirect(url, flash=f"Not saved: {summary(messages(exc, fields={'amount_minor': 'amount'}))}")
    except ValueError:
        return redirect(url, flash="Not saved: Amount must be a number such as 12.50.")
    except AppError as exc:
        return redirect(url, flash=f"Not saved: {exc.detail}")
    return redirect(url, flash=msg)
