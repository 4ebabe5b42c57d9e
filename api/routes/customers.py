"""Customers API and their credit-limit change requests."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api import workflow_calls as wf
from api.deps import Session, require
from backroom.auth.principal import Principal
from backroom.credit import limits
from backroom.customers import service
from backroom.customers.schemas import CustomerCreate, CustomerRead, CustomerUpdate
from workflows.credit_limits import CreditLimitChangeWorkflow, LimitChangeInput

router = APIRouter(prefix="/api/v1", tags=["customers"])


@router.get("/customers")
async def list_customers(
    session: Session,
    q: str | None = Query(None, max_length=100),
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, max_length=500),
    p: Principal = require("customers", "list"),
) -> dict:
    page = await service.list_customers(
        session, branch_ids=p.branch_ids("customers", "list"), q=q, limit=limit, cursor=cursor
    )
    return {"items": [CustomerRead.model_validate(c) for c in page.items], "next_cursor": page.next_cursor}


@router.post("/customers", status_code=201)
async def create_customer(
    session: Session, body: CustomerCreate, p: Principal = require("customers", "create")
) -> CustomerRead:
    p.require("customers", "create", body.home_branch_id)
    customer = await service.create_customer(session, actor=p.actor(), data=body, check_duplicates=True)
    return CustomerRead.model_validate(customer)


@router.get("/customers/{customer_id}")
async def get_customer(
    session: Session, customer_id: int, p: Principal = require("customers", "read")
) -> CustomerRead:
    customer = await service.get_customer(session, customer_id)
    p.require("customers", "read", customer.home_branch_id)
    return CustomerRead.model_validate(customer)


@router.patch("/customers/{customer_id}")
async def update_customer(
    session: Session, customer_id: int, body: CustomerUpdate, p: Principal = require("customers", "update")
) -> CustomerRead:
    """Edit the profile: contact details, tags, marketing consent, home branch, notes."""
    customer = await service.get_customer(session, customer_id)
    p.require("customers", "update", customer.home_branch_id)
    if body.home_branch_id:
        p.require("customers", "update", body.home_branch_id)
    return CustomerRead.model_validate(
        await service.update_customer(session, actor=p.actor(), customer_id=customer_id, data=body)
    )


@router.get("/customers/{customer_id}/credit-limit-requests")
async def list_limit_requests(
    session: Session, customer_id: int, p: Principal = require("credit", "read")
) -> dict:
    customer = await service.get_customer(session, customer_id)
    p.require("credit", "read", customer.home_branch_id)
    rows = await limits.requests_for(session, customer_id=customer_id)
    return {"items": [limits.LimitRequestRead.model_validate(r) for r in rows], "next_cursor": None}


async def submit_limit_request(
    request: Request, session: AsyncSession, p: Principal, customer_id: int, body: limits.LimitChangeIn
):
    """Record the request with its workflow start, commit, start credit-limit-{id}. Shared by
    the API and the customer page."""
    customer = await service.get_customer(session, customer_id)
    p.require("credit", "create", customer.home_branch_id)
    req = await limits.request_change(session, actor=p.actor(), customer_id=customer_id, data=body)
    settings = request.app.state.settings
    await wf.start(
        session,
        CreditLimitChangeWorkflow.run,
        LimitChangeInput(
            request_id=req.id,
            customer_id=customer.id,
            customer_name=customer.name,
            branch_id=req.branch_id,
            current_limit_minor=req.current_limit_minor,
            requested_limit_minor=req.requested_limit_minor,
            currency=req.currency,
            reason=req.reason,
            requested_by_id=p.user_id,
            requested_by_name=p.full_name,
            finance_hours=settings.credit_limit_finance_hours,
            manager_hours=settings.credit_limit_manager_hours,
        ),
        workflow_id=req.workflow_id,
        branch_id=req.branch_id,
        customer_id=customer.id,
    )
    return req


@router.post("/customers/{customer_id}/credit-limit-requests", status_code=202)
async def request_limit_change(
    session: Session,
    customer_id: int,
    body: limits.LimitChangeIn,
    request: Request,
    p: Principal = require("credit", "create"),
) -> limits.LimitRequestRead:
    """Ask for a new credit limit; finance decides in the inbox. 202: the decision comes later."""
    req = await submit_limit_request(request, session, p, customer_id, body)
    return limits.LimitRequestRead.model_validate(req)


@router.get("/credit-limit-requests/{request_id}")
async def get_limit_request(
    session: Session, request_id: int, p: Principal = require("credit", "read")
) -> limits.LimitRequestRead:
    req = await limits.get_request(session, request_id)
    p.require("credit", "read", req.branch_id)
    return limits.LimitRequestRead.model_validate(req)
