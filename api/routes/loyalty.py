"""Loyalty API: programs (chain-wide), a customer's card, enrolment and adjustments."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Session, require
from api.params import Id
from backroom.auth.principal import Principal
from backroom.customers.service import get_customer
from backroom.errors import Forbidden, NotFound
from backroom.loyalty import service
from backroom.loyalty.schemas import (
    AdjustIn,
    AdjustmentRead,
    BirthdayIn,
    CardRead,
    EnrolIn,
    ProgramCreate,
    ProgramRead,
    ProgramUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["loyalty"])


def _chain_wide(p: Principal, action: str) -> None:
    p.require("loyalty", action)
    if not p.all_branches:
        raise Forbidden("Loyalty programs are chain-wide: only staff with every branch may change them.")


@router.get("/loyalty/programs")
async def list_programs(session: Session, p: Principal = require("loyalty", "list")) -> list[ProgramRead]:
    return [await service.read_program(session, prog) for prog in await service.list_programs(session)]


@router.post("/loyalty/programs", status_code=201)
async def create_program(
    session: Session, body: ProgramCreate, p: Principal = require("loyalty", "create")
) -> ProgramRead:
    _chain_wide(p, "create")
    return await service.read_program(
        session, await service.create_program(session, actor=p.actor(), data=body)
    )


@router.get("/loyalty/programs/{program_id:id}")
async def get_program(
    session: Session, program_id: Id, p: Principal = require("loyalty", "read")
) -> ProgramRead:
    return await service.read_program(session, await service.get_program(session, program_id))


@router.patch("/loyalty/programs/{program_id:id}")
async def update_program(
    session: Session, program_id: Id, body: ProgramUpdate, p: Principal = require("loyalty", "update")
) -> ProgramRead:
    """Change the terms; awards already made keep theirs (their own expiry date)."""
    _chain_wide(p, "update")
    prog = await service.update_program(session, actor=p.actor(), program_id=program_id, data=body)
    return await service.read_program(session, prog)


@router.post("/loyalty/programs/{program_id:id}/activate")
async def activate_program(
    session: Session, program_id: Id, p: Principal = require("loyalty", "post")
) -> ProgramRead:
    _chain_wide(p, "post")
    prog = await service.activate_program(session, actor=p.actor(), program_id=program_id)
    return await service.read_program(session, prog)


@router.get("/customers/{customer_id:id}/loyalty")
async def get_card(session: Session, customer_id: Id, p: Principal = require("loyalty", "read")) -> CardRead:
    customer = await get_customer(session, customer_id)
    p.require("loyalty", "read", customer.home_branch_id)
    card = await service.card(session, customer_id)
    if card is None:
        raise NotFound(f"{customer.name} is not a member of the loyalty program.")
    return card


@router.post("/loyalty/members", status_code=201)
async def enrol(session: Session, body: EnrolIn, p: Principal = require("loyalty", "create")) -> CardRead:
    customer = await get_customer(session, body.customer_id)
    p.require("loyalty", "create", customer.home_branch_id)
    await service.enrol(
        session,
        actor=p.actor(),
        customer_id=customer.id,
        consent=body.consent,
        birth_month=body.birth_month,
        birth_day=body.birth_day,
    )
    return await service.card(session, customer.id)


@router.put("/customers/{customer_id:id}/loyalty/birthday")
async def set_birthday(
    session: Session, customer_id: Id, body: BirthdayIn, p: Principal = require("loyalty", "update")
) -> CardRead:
    """Record (or clear, with nulls) the member's birthday for the birthday bonus: month and day."""
    customer = await get_customer(session, customer_id)
    p.require("loyalty", "update", customer.home_branch_id)
    await service.set_birthday(
        session,
        actor=p.actor(),
        customer_id=customer.id,
        birth_month=body.birth_month,
        birth_day=body.birth_day,
    )
    return await service.card(session, customer.id)


@router.post("/customers/{customer_id:id}/loyalty/adjustments", status_code=201)
async def adjust(
    session: Session, customer_id: Id, body: AdjustIn, p: Principal = require("loyalty", "update")
) -> AdjustmentRead:
    """Add or remove points with a reason; above the program's threshold a manager approves."""
    customer = await get_customer(session, customer_id)
    p.require("loyalty", "update", customer.home_branch_id)
    return await service.adjust(
        session, actor=p.actor(), customer_id=customer.id, points=body.points, reason=body.reason
    )
