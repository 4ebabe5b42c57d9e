"""Customer operations API: search, duplicates, merge, erasure, CSV export, contacts,
addresses, timeline. (Create/list/detail are in api/routes/customers.py.)"""

from __future__ import annotations

import csv
import io

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Session, require
from backroom.auth.principal import Principal
from backroom.customers import ops
from backroom.customers.models import Customer, CustomerAddress, CustomerContact
from backroom.customers.ops_schemas import AddressCreate, ContactCreate, EraseRequest, MergeRequest

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])


def brief(c: Customer) -> dict:
    return {
        "id": c.id,
        "kind": c.kind,
        "name": c.name,
        "email": c.email,
        "phone": c.phone,
        "home_branch_id": c.home_branch_id,
        "tags": c.tags or [],
        "status": c.status,
        "merged_into_id": c.merged_into_id,
    }


async def _customer(session: AsyncSession, p: Principal, customer_id: int, action: str) -> Customer:
    c = await ops.get(session, customer_id)
    p.require("customers", action, branch_id=c.home_branch_id)
    return c


@router.get("/search")
async def search(
    session: Session,
    q: str | None = None,
    tag: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    p: Principal = require("customers", "list"),
) -> dict:
    """Search by name (substring/trigram), email prefix or phone-digits prefix; keyset pages."""
    page = await ops.search(
        session, q=q, tag=tag, branch_ids=p.branch_ids("customers", "list"), limit=limit, cursor=cursor
    )
    return {"items": [brief(c) for c in page.items], "next_cursor": page.next_cursor}


@router.get("/duplicates")
async def duplicates(
    session: Session,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    p: Principal = require("customers", "read"),
) -> dict:
    """Existing customers that look like the given details."""
    found = await ops.find_duplicates(session, name=name, email=email, phone=phone)
    allowed = p.branch_ids("customers", "read")
    return {
        "items": [brief(c) for c in found if allowed is None or c.home_branch_id in allowed],
        "next_cursor": None,
    }


@router.get("/export.csv")
async def export(session: Session, p: Principal = require("customers", "export")):
    """All customers the caller may export, as CSV (streamed)."""
    branch_ids = p.branch_ids("customers", "export")

    async def rows():
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(ops.EXPORT_COLUMNS)
        async for row in ops.export_rows(session, branch_ids=branch_ids):
            writer.writerow(row)
            if buf.tell() > 64_000:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()

    return StreamingResponse(
        rows(), media_type="text/csv", headers={"Content-Disposition": 'attachment; filename="customers.csv"'}
    )


@router.post("/{customer_id}/merge")
async def merge(
    session: Session, customer_id: int, body: MergeRequest, p: Principal = require("customers", "approve")
) -> dict:
    """Merge this customer into `survivor_id`: orders, complaints, interactions, credit move."""
    await _customer(session, p, customer_id, "approve")
    await _customer(session, p, body.survivor_id, "approve")
    survivor = await ops.merge(session, actor=p.actor(), loser_id=customer_id, survivor_id=body.survivor_id)
    return brief(survivor)


@router.post("/{customer_id}/erase")
async def erase(
    session: Session, customer_id: int, body: EraseRequest, p: Principal = require("customers", "approve")
) -> dict:
    """Erase personal data on the customer's request; financial history stays."""
    await _customer(session, p, customer_id, "approve")
    return brief(await ops.erase(session, actor=p.actor(), customer_id=customer_id, reason=body.reason))


@router.get("/{customer_id}/contacts")
async def contacts(session: Session, customer_id: int, p: Principal = require("customers", "read")) -> dict:
    await _customer(session, p, customer_id, "read")
    rows = await ops.contacts(session, customer_id)
    return {
        "items": [
            {"id": r.id, "name": r.name, "role": r.role, "email": r.email, "phone": r.phone} for r in rows
        ],
        "next_cursor": None,
    }


@router.post("/{customer_id}/contacts", status_code=201)
async def add_contact(
    session: Session, customer_id: int, body: ContactCreate, p: Principal = require("customers", "update")
) -> dict:
    await _customer(session, p, customer_id, "update")
    row = await ops.add_contact(session, actor=p.actor(), customer_id=customer_id, **body.model_dump())
    return {"id": row.id, "name": row.name, "role": row.role, "email": row.email, "phone": row.phone}


@router.delete("/{customer_id}/contacts/{contact_id}", status_code=204)
async def remove_contact(
    session: Session, customer_id: int, contact_id: int, p: Principal = require("customers", "update")
) -> None:
    await _customer(session, p, customer_id, "update")
    await ops.remove_record(
        session, actor=p.actor(), customer_id=customer_id, model=CustomerContact, record_id=contact_id
    )


def address_dict(a: CustomerAddress) -> dict:
    return {
        "id": a.id,
        "kind": a.kind,
        "line1": a.line1,
        "line2": a.line2,
        "city": a.city,
        "region": a.region,
        "postal_code": a.postal_code,
        "country": a.country,
        "is_default": a.is_default,
    }


@router.get("/{customer_id}/addresses")
async def addresses(session: Session, customer_id: int, p: Principal = require("customers", "read")) -> dict:
    await _customer(session, p, customer_id, "read")
    return {
        "items": [address_dict(a) for a in await ops.addresses(session, customer_id)],
        "next_cursor": None,
    }


@router.post("/{customer_id}/addresses", status_code=201)
async def add_address(
    session: Session, customer_id: int, body: AddressCreate, p: Principal = require("customers", "update")
) -> dict:
    await _customer(session, p, customer_id, "update")
    return address_dict(
        await ops.add_address(session, actor=p.actor(), customer_id=customer_id, **body.model_dump())
    )


@router.delete("/{customer_id}/addresses/{address_id}", status_code=204)
async def remove_address(
    session: Session, customer_id: int, address_id: int, p: Principal = require("customers", "update")
) -> None:
    await _customer(session, p, customer_id, "update")
    await ops.remove_record(
        session, actor=p.actor(), customer_id=customer_id, model=CustomerAddress, record_id=address_id
    )


@router.get("/{customer_id}/timeline")
async def timeline(
    session: Session, customer_id: int, limit: int = 100, p: Principal = require("customers", "read")
) -> dict:
    """Interactions, orders, complaints, credit and audit events, newest first."""
    await _customer(session, p, customer_id, "read")
    items = await ops.timeline(session, customer_id=customer_id, limit=max(1, min(limit, 500)))
    return {
        "items": [
            {"at": i.at.isoformat(), "kind": i.kind, "title": i.title, "detail": i.detail, "link": i.link}
            for i in items
        ],
        "next_cursor": None,
    }
