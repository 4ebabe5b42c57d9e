"""Customers: create, read, list."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.branches.service import get_branch
from backroom.customers.models import Customer
from backroom.customers.schemas import CustomerCreate, CustomerUpdate
from backroom.errors import not_found
from backroom.pagination import Page


async def create_customer(
    session: AsyncSession, *, actor: Actor, data: CustomerCreate, check_duplicates: bool = False
) -> Customer:
    """Create a customer at its home branch. Not idempotent. With `check_duplicates` (the API
    and the page), a likely duplicate is a 409 listing the candidates unless data.allow_duplicate."""
    branch = await get_branch(session, data.home_branch_id)
    if check_duplicates:
        from backroom.customers import ops

        await ops.check_duplicates(
            session, name=data.name, email=data.email, phone=data.phone, allow_duplicate=data.allow_duplicate
        )
    customer = Customer(
        **data.model_dump(exclude={"currency", "allow_duplicate"}),
        currency=data.currency or branch.currency,
        credit_limit_minor=0,
        created_by_id=actor.user_id,
    )
    session.add(customer)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="customer.create",
        entity_type="customer",
        entity_id=customer.id,
        branch_id=customer.home_branch_id,
        after=audit.snapshot(customer),
    )
    return customer


async def update_customer(
    session: AsyncSession, *, actor: Actor, customer_id: int, data: CustomerUpdate
) -> Customer:
    """Change profile fields (tags, consent, home branch, notes...). Audited. Idempotent."""
    from backroom.customers.errors import CustomerNotActive

    customer = await get_customer(session, customer_id)
    if customer.status != "active":
        raise CustomerNotActive(f"Customer #{customer.id} is {customer.status}.")
    changes = data.model_dump(exclude_unset=True)
    if changes.get("home_branch_id"):
        await get_branch(session, changes["home_branch_id"])
    if changes.get("email") or changes.get("phone"):
        from backroom.customers import ops

        await ops.check_duplicates(
            session, name=None, email=changes.get("email"), phone=changes.get("phone"), exclude_id=customer.id
        )
    before = audit.snapshot(customer)
    for key, value in changes.items():
        setattr(customer, key, value)
    await session.flush()
    after = audit.snapshot(customer)
    if after != before:
        await audit.record(
            session,
            actor=actor,
            action="customer.update",
            entity_type="customer",
            entity_id=customer.id,
            branch_id=customer.home_branch_id,
            before=before,
            after=after,
        )
    return customer


async def get_customer(session: AsyncSession, customer_id: int) -> Customer:
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise not_found("Customer", customer_id)
    return customer


async def list_customers(
    session: AsyncSession,
    *,
    branch_ids: set[int] | None,
    q: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Customer]:
    """Customers of the given branches (None: all) but merged ones, optionally matching name,
    email or phone through the indexed search (backroom.customers.ops.search). Read-only."""
    from backroom.customers import ops

    return await ops.search(
        session, q=q, branch_ids=branch_ids, status=None, exclude_status="merged", limit=limit, cursor=cursor
    )
