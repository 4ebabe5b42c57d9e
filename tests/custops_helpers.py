"""Test-data helpers for customer operations (customers, staff per role, polling)."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from temporalio.service import RPCError

from backroom.audit.service import record, snapshot
from backroom.customers.models import Customer
from tests.helpers import TEST_ACTOR, create_branch, create_user, uniq
from worker.registry import Deps, build_worker


async def create_customer(session, *, branch, **kw) -> Customer:
    c = Customer(
        name=kw.pop("name", f"Customer {uniq()}"),
        email=kw.pop("email", f"{uniq('c')}@example.com"),
        phone=kw.pop("phone", None),
        home_branch_id=branch.id,
        currency=kw.pop("currency", "USD"),
        credit_limit_minor=kw.pop("credit_limit_minor", 0),
        kind=kw.pop("kind", "person"),
        tags=kw.pop("tags", []),
        status="active",
        **kw,
    )
    session.add(c)
    await session.flush()
    await record(
        session,
        actor=TEST_ACTOR,
        action="customer.create",
        entity_type="customer",
        entity_id=c.id,
        branch_id=branch.id,
        after=snapshot(c),
    )
    return c


async def staff(db, roles=("agent", "supervisor", "manager", "finance", "clerk")) -> dict:
    """A fresh branch with one user per role in it: {"branch": Branch, role: User}."""
    async with db.sessionmaker.begin() as s:
        branch = await create_branch(s)
        out = {"branch": branch}
        for role in roles:
            out[role] = await create_user(
                s,
                grants=[(role, branch.id)],
                email=f"{uniq(role)}@staff.test",
                full_name=f"{role.title()} {uniq()}",
            )
    return out


async def eventually(check, timeout: float = 10.0, interval: float = 0.05):
    """Poll an async check until it returns something truthy (activities run in real time)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)


@asynccontextmanager
async def running_worker(env, settings, db, task_queue):
    """A worker for the test; workflows appended to the yielded list are terminated at the end,
    because the time-skipping server stalls on timers of workflows nobody polls any more."""
    handles: list = []
    async with build_worker(
        env.client, Deps(settings=settings, sessionmaker=db.sessionmaker), task_queue=task_queue
    ):
        try:
            yield handles
        finally:
            for h in handles:
                try:
                    await h.terminate("test over")
                except RPCError:
                    pass
