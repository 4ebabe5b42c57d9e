"""A request takes the write transaction (on SQLite, the one writer's turn) at most once, and a
read never takes it: counted at the engine, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextvars
from contextlib import contextmanager

from sqlalchemy import event, select

from backroom.db.sqlite import gate_for
from backroom.starts.models import SignalStatus, StartStatus, WorkflowSignal, WorkflowStart
from tests.api.test_checkout import BODY, running
from tests.helpers import (
    client_for,
    create_branch,
    create_user,
    make_app,
    make_shop,
    open_cart,
    sign_in,
    token_client,
    uniq,
)

_COUNTING: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("counting", default=None)


@contextmanager
def write_transactions(db):
    """Yields a list that collects one entry per write transaction begun by this task (and the
    tasks it starts), not by the worker's activities or other requests."""
    seen: list[str] = []

    def begin(conn) -> None:
        counting = _COUNTING.get()
        if counting is not None and not conn.get_execution_options().get("readonly"):
            counting.append("write")

    event.listen(db.engine.sync_engine, "begin", begin)
    token = _COUNTING.set(seen)
    try:
        yield seen
    finally:
        _COUNTING.reset(token)
        event.remove(db.engine.sync_engine, "begin", begin)


async def test_sign_in_and_pages_take_the_write_transaction_once(db, settings):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        user = await create_user(s, grants=[("clerk", b.id)])
    app = make_app(db, settings)
    async with app.router.lifespan_context(app):
        client = client_for(app)
        with write_transactions(db) as writes:
            assert (await client.get("/login")).status_code == 200
        assert writes == []
        with write_transactions(db) as writes:
            assert (await sign_in(client, user.username, "wrong password")).status_code == 401
        assert len(writes) == 1  # the failure's record, after the password check on a read
        with write_transactions(db) as writes:
            resp = await sign_in(client, user.username, "correct-horse-battery", next="/")
        assert resp.status_code == 303, resp.text
        assert len(writes) == 1
        with write_transactions(db) as writes:
            for page in ("/", "/customers", "/inbox"):
                assert (await client.get(page)).status_code == 200, page
            api = await token_client(app, db, user)
        with write_transactions(db) as writes:
            assert (await api.get("/api/v1/approvals")).status_code == 200
            assert (await api.get(f"/api/v1/customers?branch_id={b.id}")).status_code == 200
        assert writes == []


async def test_a_checkout_takes_the_write_transaction_once(dev_env, db, commerce_settings, task_queue):
    settings = commerce_settings
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((5, 0),), prices=(2000,))
        clerk = await create_user(s, grants=[("clerk", a.id)])
    async with running(dev_env, db, settings, task_queue) as app:
        c = await token_client(app, db, clerk)
        cart = await open_cart(c, db, a)
        r = await c.post(f"/api/v1/carts/{cart['id']}/items", json={"product_id": p1.id, "qty": 1})
        assert r.status_code == 200, r.text
        with write_transactions(db) as writes:
            r = await c.post(
                f"/api/v1/carts/{cart['id']}/checkout", json=BODY, headers={"Idempotency-Key": uniq("key-")}
            )
            assert r.status_code == 201, r.text
            assert len(writes) == 1, writes  # the order; the caller and the cart were reads
        # The outbox rows it queued went out at once and are marked by the next batch, one
        # write for every request of that moment, never re-read by the request.
        await app.state.outbox.flush()
        async with db.read_sessionmaker() as s:
            start = await s.scalar(select(WorkflowStart).where(WorkflowStart.order_id == r.json()["id"]))
        assert start.status == StartStatus.started and start.attempts == 1


async def test_delivered_rows_are_marked_in_one_write_per_batch(dev_env, db, settings, task_queue):
    """Twenty requests' signals delivered at once are marked delivered by one write."""
    from pydantic import BaseModel

    from backroom.starts import service as starts

    class Ping(BaseModel):
        n: int

    outbox = starts.Outbox(db.sessionmaker, task_queue, mark_every=0.05)
    async with db.sessionmaker.begin() as s:
        rows = [
            await starts.enqueue_signal(s, workflow_id=uniq("nobody-"), signal="ping", arg=Ping(n=i))
            for i in range(20)
        ]
        starts.take_queued(s)

    async def client() -> object:
        return dev_env.client

    with write_transactions(db) as writes:
        assert all(await asyncio.gather(*(outbox.dispatch_bounded(client, [row]) for row in rows)))
        assert writes == []  # nothing marked on the requests' path
        await asyncio.sleep(0.3)
    assert len(writes) == 1
    async with db.read_sessionmaker() as s:
        statuses = set(
            (
                await s.scalars(
                    select(WorkflowSignal.status).where(WorkflowSignal.id.in_([r.id for r in rows]))
                )
            ).all()
        )
    assert statuses == {SignalStatus.dropped}  # no such workflows: told nobody, recorded once


async def test_a_refused_write_request_ends_its_transaction_before_the_response(sqlite_db, settings):
    """The 404 of a write route is sent after its transaction rolled back: the writer's turn is
    free for the next request, not held until the garbage collector finalizes the session."""
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        admin = await create_user(s, grants=[("admin", None)])
    api = await token_client(make_app(db, settings), db, admin)
    gate = gate_for(db.url)
    for _ in range(3):
        with write_transactions(db) as writes:
            r = await api.post("/api/v1/abandoned-carts/987654321/reminders")
        assert r.status_code == 404 and len(writes) == 1
        assert not gate._lock().locked()
