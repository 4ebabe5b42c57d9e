"""A transaction the database aborts because it collided with another (a real PostgreSQL
deadlock here) reaches the client as a 503 with Retry-After, not a 500: retrying helps."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from api.deps import Session
from tests.helpers import client_for, create_branch, make_app


async def test_a_deadlock_is_a_503_with_retry_after(pg_db, settings):
    db = pg_db
    async with db.sessionmaker.begin() as s:
        b1, b2 = (await create_branch(s)).id, (await create_branch(s)).id
    app = make_app(db, settings)
    route_holds_first, test_holds_second = asyncio.Event(), asyncio.Event()
    lock = text("SELECT id FROM branches WHERE id = :id FOR UPDATE")

    @app.post("/api/v1/test-collide")
    async def collide(session: Session) -> dict:
        # This side notices the cycle first, so the database aborts this transaction.
        await session.execute(text("SET LOCAL deadlock_timeout = '50ms'"))
        await session.execute(lock, {"id": b1})
        route_holds_first.set()
        await test_holds_second.wait()
        await session.execute(lock, {"id": b2})
        return {}

    async with client_for(app) as client:
        request = asyncio.create_task(client.post("/api/v1/test-collide"))
        async with db.sessionmaker.begin() as other:
            await other.execute(lock, {"id": b2})
            await asyncio.wait_for(route_holds_first.wait(), timeout=10)
            test_holds_second.set()
            await other.execute(lock, {"id": b1})  # the cycle: one of the two must give way
        resp = await asyncio.wait_for(request, timeout=30)
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "1"
    assert resp.json()["code"] == "database_busy"
