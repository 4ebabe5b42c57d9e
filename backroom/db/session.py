"""Engine and session factory: one async_sessionmaker built at start-up."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from backroom.db import sqlite

Sessionmaker = async_sessionmaker[AsyncSession]


def make_engine(url: str, **kw) -> AsyncEngine:
    """Create the engine. On SQLite (backroom/db/sqlite.py): WAL, foreign keys, real read
    transactions, and write transactions that queue for the one writer's turn."""
    if url.startswith("sqlite"):
        # Connections for the readers beside the one writer: a request's principal read and its
        # page reads, the outbox, the worker's activities. Waiting for a connection is waiting in
        # a queue too, so the pool is generous and its wait as long as the gate's.
        if not sqlite.in_memory(url):
            kw = {"pool_size": 20, "max_overflow": 20, "pool_timeout": sqlite.BUSY_TIMEOUT_S, **kw}
        engine = create_async_engine(
            url, module=sqlite.dbapi(), connect_args={"timeout": sqlite.BUSY_TIMEOUT_S}, **kw
        )
        sqlite.configure(engine, sqlite.gate_for(url))
        return engine
    # No ping on every checkout (a round trip before each transaction, issue 17): a connection
    # found dead fails its one request (a 503, api/errors.py; an activity retries) and the pool
    # then replaces every connection older than that failure. Recycled hourly besides, for
    # anything between us and the server that drops idle connections. No server-side prepared
    # statements: psycopg prepares a statement on its fifth use and drops them all at every
    # ROLLBACK, so the reads' rollbacks made PREPARE and DEALLOCATE round trips of their own.
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_recycle=3600,
        connect_args={"prepare_threshold": None},
        **kw,
    )


def make_sessionmaker(engine: AsyncEngine, *, readonly: bool = False) -> Sessionmaker:
    # Every mapped class must be known before the first flush: a process that imported only
    # some domains (the worker) otherwise fails on foreign keys to tables it never loaded.
    from backroom.db.models import load_models

    load_models()
    bind = engine.execution_options(readonly=True) if readonly else engine
    return async_sessionmaker(bind, expire_on_commit=False)


def read_only(maker: Sessionmaker | None) -> Sessionmaker | None:
    """Read-only sessions over `maker`'s engine: reads that never take the write transaction
    (on SQLite, the one writer's turn). For activities and jobs given only the sessionmaker
    (None stays None: a registry built without a database, to inspect its names)."""
    if maker is None:
        return None
    return async_sessionmaker(maker.kw["bind"].execution_options(readonly=True), expire_on_commit=False)


def point_reads(maker: Sessionmaker | None) -> Sessionmaker | None:
    """Like `read_only`, for reads that each stand alone (a record by id, a pending list, a few
    lookups): on PostgreSQL they run without a transaction around them, so a session costs no
    BEGIN and ROLLBACK round trips (issue 17: about eleven such sessions per online order).
    Under READ COMMITTED a transaction's statements each see their own snapshot anyway, so
    nothing is lost; not for reads that SET LOCAL, take transaction-scoped locks or need one
    snapshot across statements (use `read_only`)."""
    if maker is None:
        return None
    bind = maker.kw["bind"]
    if bind.dialect.name != "postgresql":
        return read_only(maker)
    return async_sessionmaker(
        bind.execution_options(readonly=True, isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )


def is_postgres(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"


T = TypeVar("T")
# Read queries of one request at once on PostgreSQL: each is a scan of its own table and the
# machine has more than one core. Bounded so that one request cannot take the whole pool.
FAN_OUT = 4


async def fan_out(session: AsyncSession, jobs: list[Callable[[AsyncSession], Awaitable[T]]]) -> list[T]:
    """`[await job(s) for job in jobs]`, in order. From a read-only session on PostgreSQL the
    jobs run at once, each on a session of its own (other connections could not see what a
    write transaction has not committed, so write sessions and SQLite run them in turn on
    `session`). Each job must be a read, complete in itself (it sets its own SET LOCALs)."""
    conn = await session.connection()
    readonly = conn.sync_connection.get_execution_options().get("readonly", False)
    if not is_postgres(session) or len(jobs) < 2 or not readonly:
        return [await job(session) for job in jobs]
    gate = asyncio.Semaphore(FAN_OUT)

    async def one(job: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with gate, AsyncSession(bind=session.bind) as own:
            return await job(own)

    return list(await asyncio.gather(*(one(job) for job in jobs)))


async def begin_read(session: AsyncSession) -> None:
    """Begin the session's transaction as a read: for a use case that reads, waits on a workflow
    (`end_read`), then writes, so that its reads never hold the write transaction (on SQLite,
    the one writer's turn). Does nothing inside a transaction already begun."""
    if not session.in_transaction():
        await session.connection(execution_options={"readonly": True})


async def end_read(session: AsyncSession) -> None:
    """Finish the read-only part of a request before it waits on a workflow. Why by hand: SQLite
    has one writer, and a request's write transaction (BEGIN IMMEDIATE) left open here would
    hold the lock the workflow's activities need while the request waits for them. Nothing was
    written; loaded objects stay usable (detached)."""
    session.expunge_all()
    await session.rollback()


async def run_in_transaction(db_url: str, fn):
    """`await fn(session)` in one transaction on an engine of its own, for commands (the CLI,
    the dev stack) rather than requests. Returns what `fn` returns."""
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            return await fn(session)
    finally:
        await engine.dispose()
