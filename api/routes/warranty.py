"""Warranty API: look-up (serial, order, customer, product), detail, registration by hand,
edits, and extension / transfer / voiding (sent to the warranty's workflow)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, Request

from api.deps import Session, require
from api.params import Id
from backroom.auth.principal import Principal
from backroom.customers.models import Customer
from backroom.errors import not_found
from backroom.warranty import control
from backroom.warranty import service as warranty
from backroom.warranty.flow import WarrantyChange, WarrantyState
from backroom.warranty.schemas import (
    WarrantyCreate,
    WarrantyDetail,
    WarrantyEventRead,
    WarrantyExtend,
    WarrantyRead,
    WarrantyTransfer,
    WarrantyUpdate,
    WarrantyVoid,
)

router = APIRouter(prefix="/api/v1/warranties", tags=["warranty"])


def _read(w, product_name: str | None, customer_name: str | None) -> WarrantyRead:
    return WarrantyRead.model_validate(w).model_copy(
        update={"status": warranty.status_of(w), "product_name": product_name, "customer_name": customer_name}
    )


@router.get("")
async def lookup(
    session: Session,
    serial: str | None = Query(default=None, max_length=100),
    order_id: int | None = Query(default=None, ge=1, le=2**63 - 1),
    customer_id: int | None = Query(default=None, ge=1, le=2**63 - 1),
    product_id: int | None = Query(default=None, ge=1, le=2**63 - 1),
    q: str | None = Query(default=None, max_length=100),
    p: Principal = require("warranty", "list"),
) -> list[WarrantyRead]:
    """Registrations by serial, order, customer or product (or `q`: any of them), newest first."""
    rows = await warranty.lookup(
        session,
        branch_ids=p.branch_ids("warranty", "list"),
        serial=serial,
        order_id=order_id,
        customer_id=customer_id,
        product_id=product_id,
        q=q,
    )
    return [_read(w, pn, cn) for w, pn, cn in rows]


async def _get(session, p: Principal, warranty_id: int, action: str):
    w = await warranty.get(session, warranty_id)
    p.require("warranty", action, branch_id=w.branch_id)
    return w


async def _detail(session, w) -> WarrantyDetail:
    product_name, customer_name = await warranty.names_of(session, w)
    return WarrantyDetail(
        **_read(w, product_name, customer_name).model_dump(),
        events=[WarrantyEventRead.model_validate(e) for e in await warranty.events(session, w.id)],
    )


@router.get("/{warranty_id:id}")
async def get_warranty(
    session: Session, warranty_id: Id, p: Principal = require("warranty", "read")
) -> WarrantyDetail:
    return await _detail(session, await _get(session, p, warranty_id, "read"))


@router.post("", status_code=201)
async def register(
    session: Session, body: WarrantyCreate, p: Principal = require("warranty", "create")
) -> WarrantyDetail:
    """Register a unit sold in store; starts its workflow (warranty-{id}) through the outbox."""
    customer = await session.get(Customer, body.customer_id)
    if customer is None:
        raise not_found("Customer", body.customer_id)
    p.require("warranty", "create", branch_id=body.branch_id or customer.home_branch_id)
    w = await warranty.register_manual(session, actor=p.actor(), data=body)
    return await _detail(session, w)


@router.patch("/{warranty_id:id}")
async def edit(
    session: Session, warranty_id: Id, body: WarrantyUpdate, p: Principal = require("warranty", "update")
) -> WarrantyDetail:
    """Record the serial number or the proof of purchase."""
    w = await _get(session, p, warranty_id, "update")
    await warranty.update(session, actor=p.actor(), warranty_id=w.id, serial=body.serial, proof=body.proof)
    return await _detail(session, w)


def _key(p: Principal, what: str) -> str:
    """One change per request: a retried request (same X-Request-Id) applies once."""
    return f"staff-{p.request_id or uuid.uuid4().hex}-{what}"


async def _change(
    session, request: Request, p: Principal, warranty_id: int, change: WarrantyChange, action: str = "update"
) -> WarrantyState:
    w = await _get(session, p, warranty_id, action)
    await warranty.check_change(session, warranty_id=w.id, change=change)
    await session.commit()  # hold no transaction while the workflow works
    client = await request.app.state.temporal.client()
    return await control.send_change(client, w, change)


@router.post("/{warranty_id:id}/extend")
async def extend(
    session: Session,
    warranty_id: Id,
    body: WarrantyExtend,
    request: Request,
    p: Principal = require("warranty", "update"),
) -> WarrantyState:
    """Extend by whole months; the workflow moves its expiry notices."""
    change = WarrantyChange(
        key=_key(p, "extend"),
        kind="extend",
        months=body.months,
        reason=body.reason,
        user_id=p.user_id,
        user_name=p.full_name,
    )
    return await _change(session, request, p, warranty_id, change)


@router.post("/{warranty_id:id}/transfer")
async def transfer(
    session: Session,
    warranty_id: Id,
    body: WarrantyTransfer,
    request: Request,
    p: Principal = require("warranty", "update"),
) -> WarrantyState:
    """Give the warranty to a new owner (notices go to them from now on)."""
    change = WarrantyChange(
        key=_key(p, "transfer"),
        kind="transfer",
        customer_id=body.customer_id,
        reason=body.reason,
        user_id=p.user_id,
        user_name=p.full_name,
    )
    return await _change(session, request, p, warranty_id, change)


@router.post("/{warranty_id:id}/void")
async def void(
    session: Session,
    warranty_id: Id,
    body: WarrantyVoid,
    request: Request,
    p: Principal = require("warranty", "approve"),
) -> WarrantyState:
    """End the warranty before its time (e.g. tampering found at a repair): supervisors and
    managers only. Its notices stop; the registration stays for the record."""
    change = WarrantyChange(
        key=_key(p, "void"), kind="void", reason=body.reason, user_id=p.user_id, user_name=p.full_name
    )
    return await _change(session, request, p, warranty_id, change, action="approve")
