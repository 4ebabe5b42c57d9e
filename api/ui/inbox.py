"""The staff task inbox: approval requests the user may decide, decided from the page."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Form, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Session, require
from api.params import Id
from api.ui.common import redirect, render
from api.ui.crm import my_work
from backroom.approvals import service
from backroom.approvals.models import ApprovalRequest
from backroom.auth.principal import Principal
from backroom.branches.service import list_branches
from backroom.catalog.models import Product
from backroom.complaints.models import Complaint
from backroom.credit.models import CreditHold
from backroom.customers.repository import names as customer_names
from backroom.errors import AppError
from backroom.orders.models import Order

router = APIRouter(include_in_schema=False)
NAV = [("Inbox", "/inbox", ("dashboard", "read"), 1)]


@dataclass(frozen=True)
class Subject:
    """What a request is about, as a person reads it, and the page that shows it."""

    label: str
    url: str | None


def _ids(rows: list[ApprovalRequest], kind: str) -> set[int]:
    return {int(r.subject_id) for r in rows if r.subject_type == kind and str(r.subject_id).isdigit()}


async def subjects(session: AsyncSession, rows: list[ApprovalRequest]) -> dict[int, Subject]:
    """{request id: Subject}: the customer (their credit account for credit requests), order,
    credit hold, complaint or product behind each request, by name. Read-only."""
    holds = dict(
        (
            await session.execute(
                select(CreditHold.id, CreditHold.customer_id).where(
                    CreditHold.id.in_(_ids(rows, "credit_hold"))
                )
            )
        ).all()
    )
    complained = dict(
        (
            await session.execute(
                select(Complaint.id, Complaint.customer_id).where(Complaint.id.in_(_ids(rows, "complaint")))
            )
        ).all()
    )
    orders = dict(
        (
            await session.execute(select(Order.id, Order.ship_name).where(Order.id.in_(_ids(rows, "order"))))
        ).all()
    )
    products = dict(
        (
            await session.execute(
                select(Product.id, Product.name).where(Product.id.in_(_ids(rows, "product")))
            )
        ).all()
    )
    people = await customer_names(
        session, _ids(rows, "customer") | set(holds.values()) | set(complained.values())
    )
    out: dict[int, Subject] = {}
    for r in rows:
        sid = int(r.subject_id) if str(r.subject_id).isdigit() else None
        kind = r.subject_type
        if kind == "customer" and sid in people:
            credit = r.function == "credit"
            out[r.id] = Subject(
                f"{'Credit account of ' if credit else ''}{people[sid]}",
                f"/credit/customers/{sid}" if credit else f"/customers/{sid}",
            )
        elif kind == "credit_hold" and sid in holds:
            out[r.id] = Subject(
                f"Credit account of {people.get(holds[sid], '')}", f"/credit/customers/{holds[sid]}"
            )
        elif kind == "complaint" and sid in complained:
            out[r.id] = Subject(
                f"Complaint #{sid} of {people.get(complained[sid], '')}", f"/complaints/{sid}"
            )
        elif kind == "order" and sid in orders:
            out[r.id] = Subject(f"Order #{sid} for {orders[sid]}", f"/orders/{sid}")
        elif kind == "product" and sid in products:
            out[r.id] = Subject(products[sid], f"/catalog/{sid}")
        else:
            out[r.id] = Subject(f"{kind.replace('_', ' ')} #{r.subject_id}", None)
    return out


@router.get("/inbox")
async def inbox_page(session: Session, request: Request, p: Principal = require("dashboard", "read")):
    pending = await service.inbox(session, p=p, status="pending")
    decided = await service.inbox(session, p=p, status="decided")
    mine = await service.my_requests(session, p=p)
    return render(
        request,
        "inbox.html",
        p,
        subjects=await subjects(session, pending + decided[:30] + mine[:30]),
        branch_names={b.id: b.name for b in await list_branches(session)},
        pending=pending,
        decided=decided[:30],
        mine=mine[:30],
        error=request.query_params.get("error"),
        **await my_work(session, p),
    )


@router.post("/inbox/{request_id}/decision")
async def decide_from_inbox(
    session: Session,
    request_id: Id,
    decision: str = Form(...),
    reason: str = Form(""),
    p: Principal = require("dashboard", "read"),
):
    """Approve or reject from the inbox; the outcome shows at once on the reloaded page."""
    try:
        outcome = await service.decide(
            session, request_id=request_id, p=p, approve=decision == "approve", reason=reason
        )
    except AppError as exc:
        if exc.status in (403, 404) or exc.status >= 500:  # an error page, not a flash
            raise
        await session.rollback()  # a refused decision writes nothing: its close is undone
        return redirect("/inbox", flash=f"Request #{request_id}: {exc.detail}")
    return redirect("/inbox", flash=f"Request #{request_id} {outcome.status}.")
