"""Customer operations API: search, duplicates, merge, erasure, CSV export, contacts,
addresses, timeline. (Create/list/detail are in api/routes/customers.py.)"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Session, SettingsDep, WriteSession, require
from api.params import Id
from backroom.auth.principal import Principal
from backroom.controls.schemas import GatedActionRead
from backroom.customers import repository, service
from backroom.customers.models import Customer, CustomerAddress, CustomerContact
from backroom.customers.schemas import (
    AddressCreate,
    AddressRead,
    ContactCreate,
    ContactRead,
    CustomerBrief,
    EraseRequest,
    MergeRequest,
    TimelineItemRead,
)
from backroom.pagination import CursorText, PageRead
from backroom.segments import service as segments
from backroom.spreadsheet import csv_line

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])


async def _customer(session: AsyncSession, p: Principal, customer_id: int, action: str) -> Customer:
    c = await service.get_customer(session, customer_id)
    p.require("customers", action, branch_id=c.home_branch_id)
    return c


@router.get("/search")
async def search(
    session: Session,
    q: str | None = None,
    tag: str | None = None,
    limit: int = 50,
    cursor: CursorText | None = None,
    p: Principal = require("customers", "list"),
) -> PageRead[CustomerBrief]:
    """Search by name (substring/trigram), email prefix or phone-digits prefix; keyset pages."""
    page = await repository.search(
        session, q=q, tag=tag, branch_ids=p.branch_ids("customers", "list"), limit=limit, cursor=cursor
    )
    return PageRead[CustomerBrief].of(page, CustomerBrief)


@router.get("/duplicates")
async def duplicates(
    session: Session,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    p: Principal = require("customers", "read"),
) -> PageRead[CustomerBrief]:
    """Existing customers that look like the given details."""
    found = await repository.find_duplicates(session, name=name, email=email, phone=phone)
    allowed = p.branch_ids("customers", "read")
    return PageRead[CustomerBrief](
        items=[
            CustomerBrief.model_validate(c) for c in found if allowed is None or c.home_branch_id in allowed
        ],
        next_cursor=None,
    )


@router.get(
    "/export.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"}},
)
async def export(
    session: WriteSession,
    request: Request,
    segment: int | None = Query(None, ge=1, le=2**63 - 1, description="Only members of this segment"),
    p: Principal = require("customers", "export"),
) -> StreamingResponse:
    """All customers the caller may export (or a segment's), as CSV (streamed). Audited (the
    event commits before the file starts); text cells are neutralised against formula injection."""
    branch_ids = p.branch_ids("customers", "export")
    where = await segments.clause(session, segment) if segment else None
    await service.record_export(
        session, actor=p.actor(), branch_ids=branch_ids, segment_id=segment, where=where
    )
    reader = request.app.state.read_sessionmaker

    async def rows():
        # Its own read session: the request's write transaction has committed by now.
        async with reader() as read:
            chunk = [csv_line(repository.EXPORT_COLUMNS)]
            async for row in repository.export_rows(read, branch_ids=branch_ids, where=where):
                chunk.append(csv_line(row))
                if len(chunk) >= 500:
                    yield "".join(chunk)
                    chunk = []
            yield "".join(chunk)

    return StreamingResponse(
        rows(), media_type="text/csv", headers={"Content-Disposition": 'attachment; filename="customers.csv"'}
    )


@router.post("/{customer_id:id}/merge", status_code=202)
async def merge(
    session: Session,
    settings: SettingsDep,
    customer_id: Id,
    body: MergeRequest,
    p: Principal = require("customers", "approve"),
) -> GatedActionRead:
    """Ask to merge this customer into `survivor_id` (orders, complaints, interactions, credit
    move): applied once another manager approves in the inbox."""
    await _customer(session, p, customer_id, "approve")
    await _customer(session, p, body.survivor_id, "approve")
    req = await service.request_merge(
        session,
        actor=p.actor(),
        loser_id=customer_id,
        survivor_id=body.survivor_id,
        hours=settings.four_eyes_hours,
    )
    return GatedActionRead.model_validate(req)


@router.post("/{customer_id:id}/erase", status_code=202)
async def erase(
    session: Session,
    settings: SettingsDep,
    customer_id: Id,
    body: EraseRequest,
    p: Principal = require("customers", "approve"),
) -> GatedActionRead:
    """Ask to erase personal data on the customer's request (financial history stays): applied
    once another manager approves in the inbox."""
    await _customer(session, p, customer_id, "approve")
    req = await service.request_erasure(
        session, actor=p.actor(), customer_id=customer_id, reason=body.reason, hours=settings.four_eyes_hours
    )
    return GatedActionRead.model_validate(req)


@router.get("/{customer_id:id}/contacts")
async def contacts(
    session: Session, customer_id: Id, p: Principal = require("customers", "read")
) -> PageRead[ContactRead]:
    await _customer(session, p, customer_id, "read")
    rows = await repository.contacts(session, customer_id)
    return PageRead[ContactRead](items=[ContactRead.model_validate(r) for r in rows])


@router.post("/{customer_id:id}/contacts", status_code=201)
async def add_contact(
    session: Session, customer_id: Id, body: ContactCreate, p: Principal = require("customers", "update")
) -> ContactRead:
    await _customer(session, p, customer_id, "update")
    row = await service.add_contact(session, actor=p.actor(), customer_id=customer_id, **body.model_dump())
    return ContactRead.model_validate(row)


@router.delete("/{customer_id:id}/contacts/{contact_id:id}", status_code=204)
async def remove_contact(
    session: Session, customer_id: Id, contact_id: Id, p: Principal = require("customers", "update")
) -> None:
    await _customer(session, p, customer_id, "update")
    await service.remove_record(
        session, actor=p.actor(), customer_id=customer_id, model=CustomerContact, record_id=contact_id
    )


@router.get("/{customer_id:id}/addresses")
async def addresses(
    session: Session, customer_id: Id, p: Principal = require("customers", "read")
) -> PageRead[AddressRead]:
    await _customer(session, p, customer_id, "read")
    rows = await repository.addresses(session, customer_id)
    return PageRead[AddressRead](items=[AddressRead.model_validate(a) for a in rows])


@router.post("/{customer_id:id}/addresses", status_code=201)
async def add_address(
    session: Session, customer_id: Id, body: AddressCreate, p: Principal = require("customers", "update")
) -> AddressRead:
    await _customer(session, p, customer_id, "update")
    row = await service.add_address(session, actor=p.actor(), customer_id=customer_id, **body.model_dump())
    return AddressRead.model_validate(row)


@router.delete("/{customer_id:id}/addresses/{address_id:id}", status_code=204)
async def remove_address(
    session: Session, customer_id: Id, address_id: Id, p: Principal = require("customers", "update")
) -> None:
    await _customer(session, p, customer_id, "update")
    await service.remove_record(
        session, actor=p.actor(), customer_id=customer_id, model=CustomerAddress, record_id=address_id
    )


@router.get("/{customer_id:id}/timeline")
async def timeline(
    session: Session,
    customer_id: Id,
    limit: int = 100,
    p: Principal = require("customers", "read"),
) -> PageRead[TimelineItemRead]:
    """Interactions, orders, complaints, credit and audit events, newest first (at most 500)."""
    c = await _customer(session, p, customer_id, "read")
    items = await service.timeline(
        session, customer_id=customer_id, limit=max(1, min(limit, 500)), may_read=p.reader(c.home_branch_id)
    )
    return PageRead[TimelineItemRead](items=[TimelineItemRead.model_validate(i) for i in items])
