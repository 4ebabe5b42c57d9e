"""Engine and session factory: one async_sessionmaker built at start-up."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

Sessionmaker = async_sessionmaker[AsyncSession]


def make_engine(url: str, **kw) -> AsyncEngine:
    """Create the engine; on SQLite, real transactions (pysqlite's legacy mode starts none
    for SELECT), WAL, foreign keys, and write transactions that take the lock up front."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kw)

        @event.listens_for(engine.sync_engine, "connect")
        def _connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn):
            # A write transaction that starts DEFERRED and reads first can fail to upgrade
            # (SQLITE_BUSY_SNAPSHOT); IMMEDIATE waits for the lock instead. Reads stay shared.
            if conn.get_execution_options().get("readonly"):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, **kw)


def make_sessionmaker(engine: AsyncEngine, *, readonly: bool = False) -> Sessionmaker:
    # Every mapped class must be known before the first flush: a process that imported only
    # some domains (the worker) otherwise fails on foreign keys to tables it never loaded.
    from backroom.db.models import load_models

    load_models()
    bind = engine.execution_options(readonly=True) if readonly else engine
    return async_sessionmaker(bind, expire_on_commit=False)


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
