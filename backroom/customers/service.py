"""Customers: create, read, list."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.branches.service import get_branch
from backroom.customers.models import Customer
from backroom.customers.schemas import CustomerCreate
from backroom.errors import not_found
from backroom.pagination import Page, paginate


async def create_customer(session: AsyncSession, *, actor: Actor, data: CustomerCreate) -> Customer:
    """Create a customer at its home branch. Not idempotent."""
    branch = await get_branch(session, data.home_branch_id)
    customer = Customer(**data.model_dump(exclude={"currency"}), currency=data.currency or branch.currency,
                        credit_limit_minor=0, created_by_id=actor.user_id)
    session.add(customer)
    await session.flush()
    await audit.record(session, actor=actor, action="customer.create", entity_type="customer",
                       entity_id=customer.id, branch_id=customer.home_branch_id, after=audit.snapshot(customer))
    return customer


async def get_customer(session: AsyncSession, customer_id: int) -> Customer:
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise not_found("Customer", customer_id)
    return customer


async def list_customers(session: AsyncSession, *, branch_ids: set[int] | None, q: str | None = None,
                         limit: int = 50, cursor: str | None = None) -> Page[Customer]:
    """Customers of the given branches (None: all), optionally matching name, email or phone."""
    stmt = select(Customer).where(Customer.status != "merged")
    if branch_ids is not None:
        stmt = stmt.where(Customer.home_branch_id.in_(branch_ids))
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(func.lower(Customer.name).like(like), func.lower(Customer.email).like(like),
                              Customer.phone.like(f"%{q}%")))
    return await paginate(session, stmt, sort_col=Customer.name, id_col=Customer.id, limit=limit, cursor=cursor)
