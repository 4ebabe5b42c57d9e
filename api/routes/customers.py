"""Customers API and their credit-limit change requests."""

from __future__ import annotations

from fastapi import APIRouter, Query

from api.deps import Session, SettingsDep, require
from api.params import Id
from backroom.auth.principal import Principal
from backroom.credit import limits
from backroom.credit import service as credit
from backroom.credit.schemas import LimitChangeIn, LimitRequestRead
from backroom.customers import service
from backroom.customers.schemas import CustomerCreate, CustomerRead, CustomerUpdate
from backroom.pagination import CursorText, PageRead
from backroom.segments import service as segments

router = APIRouter(prefix="/api/v1", tags=["customers"])


@router.get("/customers")
async def list_customers(
    session: Session,
    q: str | None = Query(None, max_length=100),
    limit: int = Query(50, ge=1, le=200),
    cursor: CursorText | None = Query(None, max_length=500),
    segment: int | None = Query(None, ge=1, le=2**63 - 1, description="Only members of this segment"),
    p: Principal = require("customers", "list"),
) -> PageRead[CustomerRead]:
    where = await segments.clause(session, segment) if segment else None
    page = await service.list_customers(
        session, branch_ids=p.branch_ids("customers", "list"), q=q, limit=limit, cursor=cursor, where=where
    )
    return PageRead[CustomerRead].of(page, CustomerRead)


@router.post("/customers", status_code=201)
async def create_customer(
    session: Session, body: CustomerCreate, p: Principal = require("customers", "create")
) -> CustomerRead:
    p.require("customers", "create", body.home_branch_id)
    customer = await service.create_customer(session, actor=p.actor(), data=body, check_duplicates=True)
    return CustomerRead.model_validate(customer)


@router.get("/customers/{customer_id:id}")
async def get_customer(
    session: Session, customer_id: Id, p: Principal = require("customers", "read")
) -> CustomerRead:
    customer = await service.get_customer(session, customer_id)
    p.require("customers", "read", customer.home_branch_id)
    return CustomerRead.model_validate(customer)


@router.patch("/customers/{customer_id:id}")
async def update_customer(
    session: Session, customer_id: Id, body: CustomerUpdate, p: Principal = require("customers", "update")
) -> CustomerRead:
    """Edit the profile: contact details, tags, marketing consent, home branch, notes."""
    customer = await service.get_customer(session, customer_id)
    p.require("customers", "update", customer.home_branch_id)
    if body.home_branch_id:
        p.require("customers", "update", body.home_branch_id)
    return CustomerRead.model_validate(
        await service.update_customer(session, actor=p.actor(), customer_id=customer_id, data=body)
    )


@router.get("/customers/{customer_id:id}/credit-limit-requests")
async def list_limit_requests(
    session: Session, customer_id: Id, p: Principal = require("credit", "read")
) -> PageRead[LimitRequestRead]:
    customer = await service.get_customer(session, customer_id)
    p.require("credit", "read", customer.home_branch_id)
    rows = await limits.requests_for(session, customer_id=customer_id)
    return PageRead[LimitRequestRead](items=[LimitRequestRead.model_validate(r) for r in rows])


@router.post("/customers/{customer_id:id}/credit-limit-requests", status_code=202)
async def request_limit_change(
    session: Session,
    settings: SettingsDep,
    customer_id: Id,
    body: LimitChangeIn,
    p: Principal = require("credit", "create"),
) -> LimitRequestRead:
    """Ask for a new credit limit; finance decides in the inbox. 202: the decision comes later."""
    customer = await service.get_customer(session, customer_id)
    p.require("credit", "create", customer.home_branch_id)
    req = await credit.request_limit_change(
        session,
        customer_id=customer_id,
        data=body,
        actor=p.actor(),
        settings=settings,
    )
    return LimitRequestRead.model_validate(req)


@router.get("/credit-limit-requests/{request_id:id}")
async def get_limit_request(
    session: Session, request_id: Id, p: Principal = require("credit", "read")
) -> LimitRequestRead:
    req = await limits.get_request(session, request_id)
    p.require("credit", "read", req.branch_id)
    return LimitRequestRead.model_validate(req)
