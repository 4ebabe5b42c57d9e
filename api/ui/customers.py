"""Staff pages for customers: list, create, the customer page with credit-limit requests."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from api.deps import Session, SettingsDep, require
from api.params import Id
from api.ui.common import branch_choices, parse_form, redirect, render
from api.ui.crm import sections as operations_sections
from api.ui.loyalty import card_context as loyalty_card
from api.validation import messages
from backroom import temporal
from backroom.audit.service import trail
from backroom.auth.principal import Principal
from backroom.branches import service as branches_svc
from backroom.credit import limits
from backroom.credit import service as credit
from backroom.credit.schemas import LimitChangeIn
from backroom.customers import service
from backroom.customers.schemas import CustomerCreate, CustomerUpdate
from backroom.errors import AppError
from backroom.money import parse_money
from backroom.segments import service as segments

router = APIRouter(include_in_schema=False)
NAV = [("Customers", "/customers", ("customers", "list"), 10)]


class LimitForm(BaseModel):
    """The customer page's limit form takes a decimal amount; the API takes minor units."""

    model_config = ConfigDict(str_strip_whitespace=True)
    requested_limit: str = Field(min_length=1, max_length=20)
    reason: str = Field(min_length=3, max_length=1000)

    @field_validator("requested_limit")
    @classmethod
    def _amount(cls, v: str) -> str:
        try:
            if parse_money(v, "USD") < 0:
                raise ValueError
        except ValueError:
            raise ValueError("enter an amount such as 1500.00") from None
        return v


@router.get("/customers")
async def customers_page(
    session: Session,
    request: Request,
    q: str | None = None,
    cursor: str | None = None,
    segment: int | None = Query(None, ge=1, le=2**63 - 1),
    p: Principal = require("customers", "list"),
):
    where = await segments.clause(session, segment) if segment else None
    page = await service.list_customers(
        session, branch_ids=p.branch_ids("customers", "list"), q=q, cursor=cursor, where=where
    )
    return render(
        request,
        "customers.html",
        p,
        page=page,
        q=q or "",
        segment=segment,
        branches=await branch_choices(session, p, "customers", "create"),
        values={},
        errors={},
    )


class CustomerChoice(BaseModel):
    """One line of the customer picker: the id it fills in and how a person tells them apart."""

    id: int
    name: str
    detail: str


@router.get("/customers/pick")
async def pick_customers(
    session: Session,
    q: str = Query("", max_length=200),
    p: Principal = require("customers", "list"),
) -> list[CustomerChoice]:
    """The customer picker's type-ahead (api/static/customer-picker.js): up to ten active
    customers of the user's branches by name (any word order), e-mail or phone (any form)."""
    if len(q.strip()) < 2:
        return []
    page = await service.list_customers(session, branch_ids=p.branch_ids("customers", "list"), q=q, limit=10)
    return [
        CustomerChoice(
            id=c.id, name=c.name, detail=" · ".join(x for x in (f"#{c.id}", c.email, c.phone) if x)
        )
        for c in page.items
        if c.status == "active"
    ]


@router.post("/customers")
async def create_customer_form(
    session: Session, request: Request, p: Principal = require("customers", "create")
):
    data, errors, raw = await parse_form(request, CustomerCreate)
    duplicates = []
    if data is not None:
        try:
            p.require("customers", "create", data.home_branch_id)
            customer = await service.create_customer(
                session, actor=p.actor(), data=data, check_duplicates=True
            )
            return redirect(f"/customers/{customer.id}", flash="Customer created.")
        except AppError as exc:
            if exc.status == 403:
                raise
            errors = {exc.extra.get("field", "form"): exc.detail}
            duplicates = exc.extra.get("candidates", [])
    page = await service.list_customers(session, branch_ids=p.branch_ids("customers", "list"))
    return render(
        request,
        "customers.html",
        p,
        status=409 if duplicates else 422,
        page=page,
        q="",
        branches=await branch_choices(session, p, "customers", "create"),
        values=raw,
        errors=errors,
        duplicates=duplicates,
    )


async def _customer_page(request, session, settings, p, customer_id, values=None, errors=None, status=200):
    customer = await service.get_customer(session, customer_id)
    p.require("customers", "read", customer.home_branch_id)
    requests = (
        await limits.requests_for(session, customer_id=customer_id)
        if p.can("credit", "read", customer.home_branch_id)
        else []
    )
    return render(
        request,
        "customer.html",
        p,
        status=status,
        customer=customer,
        home_branch=(await branches_svc.get_branch(session, customer.home_branch_id)).name,
        limit_requests=requests,
        events=await trail(
            session,
            entity_type="customer",
            entity_id=customer_id,
            may_read=p.reader(customer.home_branch_id),
        ),
        wf_url=lambda wid: temporal.workflow_url(settings, wid),
        values=values or {},
        errors=errors or {},
        **await operations_sections(session, p, customer),
        **await loyalty_card(session, p, customer),
    )


@router.get("/customers/{customer_id}")
async def customer_page(
    session: Session,
    settings: SettingsDep,
    request: Request,
    customer_id: Id,
    p: Principal = require("customers", "read"),
):
    return await _customer_page(request, session, settings, p, customer_id)


@router.post("/customers/{customer_id}/credit-limit")
async def request_limit_form(
    session: Session,
    settings: SettingsDep,
    request: Request,
    customer_id: Id,
    p: Principal = require("credit", "create"),
):
    """The clerk's limit request from the customer page; finance decides in the inbox."""
    form, errors, raw = await parse_form(request, LimitForm)
    if form is not None:
        customer = await service.get_customer(session, customer_id)
        p.require("credit", "create", customer.home_branch_id)
        try:
            body = LimitChangeIn(
                requested_limit_minor=parse_money(form.requested_limit, customer.currency), reason=form.reason
            )
            async with session.begin_nested():  # a refusal undoes this attempt only; the page renders
                req = await credit.request_limit_change(
                    session,
                    customer_id=customer_id,
                    data=body,
                    actor=p.actor(),
                    settings=settings,
                )
            return redirect(f"/customers/{customer_id}", flash=f"Limit request #{req.id} sent for approval.")
        except ValidationError as exc:  # e.g. a limit beyond any the ledger holds
            errors = messages(exc, fields={"requested_limit_minor": "requested_limit"})
        except AppError as exc:
            errors = {"requested_limit" if exc.extra.get("field") else "form": exc.detail}
    return await _customer_page(
        request, session, settings, p, customer_id, values=raw, errors=errors, status=422
    )


class ProfileForm(BaseModel):
    """The customer page's edit form: tags comma-separated, unticked boxes mean no consent."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    email: str | None = None
    phone: str | None = None
    tags: str | None = Field(default=None, max_length=500)
    consent_email: bool = False
    consent_sms: bool = False
    notes: str | None = Field(default=None, max_length=5000)

    def update(self) -> CustomerUpdate:
        tags = [t for t in (self.tags or "").split(",") if t.strip()]
        return CustomerUpdate(
            name=self.name,
            email=self.email,
            phone=self.phone,
            tags=tags,
            consent_email=self.consent_email,
            consent_sms=self.consent_sms,
            notes=self.notes,
        )


@router.post("/customers/{customer_id}/edit")
async def edit_customer_form(
    session: Session,
    settings: SettingsDep,
    request: Request,
    customer_id: Id,
    p: Principal = require("customers", "update"),
):
    """Save the profile form; invalid input re-renders the page with the messages."""
    customer = await service.get_customer(session, customer_id)
    p.require("customers", "update", customer.home_branch_id)
    form, errors, raw = await parse_form(request, ProfileForm)
    if form is not None:
        try:
            async with session.begin_nested():  # a refusal undoes this attempt only; the page renders
                await service.update_customer(
                    session, actor=p.actor(), customer_id=customer_id, data=form.update()
                )
            return redirect(f"/customers/{customer_id}", flash="Profile saved.")
        except ValidationError as exc:
            errors = messages(exc, CustomerUpdate)
        except AppError as exc:
            errors = {exc.extra.get("field", "form"): exc.detail}
    return await _customer_page(
        request, session, settings, p, customer_id, values=raw, errors=errors, status=422
    )
