"""SQLite as Backroom uses it: WAL (readers never wait for the writer), and one writer at a time
that waits its turn in a queue instead of sleep-polling for the lock.

SQLite lets one transaction write at a time. Left to itself, a writer that finds the lock taken
sleeps and retries (the busy handler: 1, 2, 5 ... 100 ms naps), so under load the lock goes to
whoever happens to wake at the right moment and the unlucky wait seconds. Here every write
transaction first takes the `WriterGate` of its database file: an asyncio lock queues the
transactions of this process in arrival order, and an `flock` on `<database>.writer` (a file next
to the database) queues the processes (the web app, the worker, a CLI command) in the kernel,
which wakes the next one the moment the lock is given back. Only then does the transaction run
`BEGIN IMMEDIATE`, which finds the database free. Read transactions (`readonly` sessions) run a
plain `BEGIN` and take no gate.

The gate is given back right after COMMIT or ROLLBACK, which the listeners below issue themselves
(as they issue BEGIN), so the next writer starts the moment the lock is free. A process that dies
holding the gate releases its flock with its file descriptors."""

from __future__ import annotations

import asyncio
import collections
import fcntl
import logging
import os
import sqlite3
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection, AsyncAdapt_aiosqlite_dbapi
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.util import await_, greenlet_spawn

log = logging.getLogger(__name__)
BUSY_TIMEOUT_S = 30  # the longest a write waits for its turn before "database is locked"
_HOLDS = "backroom.writer_gate"  # key in a pooled connection's info: it holds the gate


def _locked(why: str) -> OperationalError:
    """What SQLAlchemy raises when BEGIN IMMEDIATE finds the database locked, saying why."""
    return OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError(f"database is locked: {why}"))


class WriterGate:
    """One writer at a time for one database file, across tasks and processes, in arrival order."""

    def __init__(self, lock_path: Path | None, timeout: float = BUSY_TIMEOUT_S) -> None:
        self.lock_path = lock_path
        self.timeout = timeout
        self.acquisitions = 0  # write transactions begun through this gate (tests count them)
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._guard = threading.Lock()
        self._fd: int | None = None
        self._waiter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer-gate")

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._guard:
            lock = self._locks.get(loop)
            if lock is None:
                lock = self._locks[loop] = asyncio.Lock()
            return lock

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return self._fd

    async def acquire(self) -> None:
        lock = self._lock()
        try:
            async with asyncio.timeout(self.timeout):
                await lock.acquire()
        except TimeoutError:
            raise _locked("waited for the writer gate") from None
        if self.lock_path is not None:
            try:
                fd = self._file()
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                await self._wait_for_other_process(fd, lock)
            except BaseException:
                lock.release()
                raise
        self.acquisitions += 1

    async def _wait_for_other_process(self, fd: int, lock: asyncio.Lock) -> None:
        """Wait in the kernel's queue for the flock, on a thread of our own. If the wait is
        cancelled or times out, the thread still gets the flock in the end: it is given back
        then, and this process's lock with it (nobody here starts another wait meanwhile)."""
        waiting = asyncio.get_running_loop().run_in_executor(self._waiter, fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            async with asyncio.timeout(self.timeout):
                await asyncio.shield(waiting)
        except BaseException as exc:

            def give_back(done: asyncio.Future) -> None:
                if not done.cancelled() and done.exception() is None:
                    fcntl.flock(fd, fcntl.LOCK_UN)
                lock.release()

            waiting.add_done_callback(give_back)
            if isinstance(exc, TimeoutError):
                raise _locked("another process is writing") from None
            raise

    def release(self) -> None:
        if self.lock_path is not None and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._lock().release()


_GATES: dict[str, WriterGate] = {}
_GATES_GUARD = threading.Lock()


def in_memory(url: str) -> bool:
    database = make_url(url).database or ""
    return database in ("", ":memory:") or database.startswith("file::memory:")


def gate_for(url: str) -> WriterGate:
    """The process's one gate for the database file of `url` (shared by its engines)."""
    database = make_url(url).database or ""
    memory = in_memory(url)
    key = database if memory else str(Path(database).resolve())
    with _GATES_GUARD:
        gate = _GATES.get(key)
        if gate is None:
            gate = _GATES[key] = WriterGate(None if memory else Path(key + ".writer"))
        return gate


def configure(engine: AsyncEngine, gate: WriterGate) -> None:
    """Pragmas on connect; BEGIN / BEGIN IMMEDIATE, COMMIT and ROLLBACK issued here, writers
    through the gate. Reads are transactions too (pysqlite's legacy mode starts none for SELECT)."""
    sync = engine.sync_engine

    @event.listens_for(sync, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        cur.execute("PRAGMA synchronous=NORMAL")
        # Deleted and overwritten content is zeroed, not left in free space: an erased
        # customer's data must not survive in the file's unused bytes (docs/audit.md).
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()

    @event.listens_for(sync, "begin")
    def _begin(conn):
        if conn.get_execution_options().get("readonly"):
            conn.exec_driver_sql("BEGIN")
            return
        info = conn.connection.info
        if not info.get(_HOLDS):
            await_(gate.acquire())
            info[_HOLDS] = True
        try:
            # IMMEDIATE: a transaction that read first could not always upgrade to a write
            # (SQLITE_BUSY_SNAPSHOT); with the gate held the lock is free and this does not wait.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _give_back(info)
            raise

    def _give_back(info) -> None:
        if info.pop(_HOLDS, False):
            gate.release()

    @event.listens_for(sync, "commit")
    def _commit(conn):
        # The driver's own commit() then finds no transaction open and does nothing. A COMMIT
        # that fails (a deferred constraint) leaves the transaction, and the gate, to ROLLBACK.
        conn.exec_driver_sql("COMMIT")
        _give_back(conn.connection.info)

    @event.listens_for(sync, "rollback")
    def _rollback(conn):
        if conn.invalidated:  # the connection is gone: the pool's close gives the gate back
            return
        try:
            if not conn.connection.driver_connection.in_transaction:  # SQLite ended it already
                return
            conn.exec_driver_sql("ROLLBACK")
        finally:
            _give_back(conn.connection.info)

    @event.listens_for(sync, "checkin")
    def _checkin(_dbapi_conn, record):
        _give_back(record.info)  # a connection invalidated mid-transaction

    @event.listens_for(sync, "invalidate")
    def _invalidate(_dbapi_conn, record, _exc):
        _give_back(record.info)

    @event.listens_for(sync, "close")
    def _close(_dbapi_conn, record):
        _give_back(record.info)


# --- Erasure: no old page keeps the data ----------------------------------------------------
_WIPE = "backroom.sqlite.checkpoint_after_commit"
_RETRIES: set[asyncio.Task] = set()
CHECKPOINT_WAIT_MS = 1000  # how long a checkpoint waits for readers still on old pages


def wipe_after_commit(session: AsyncSession) -> None:
    """After this session's next commit, on SQLite, checkpoint the write-ahead log and truncate
    it: the WAL still holds the pages as they were before the commit (an erased customer's
    name), until a checkpoint copies the new ones over them. No-op on PostgreSQL."""
    if session.bind.dialect.name == "sqlite":
        session.info[_WIPE] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if not session.info.pop(_WIPE, False):
        return
    # The commit ran in SQLAlchemy's greenlet (AsyncSession), so the driver's awaitables can be
    # waited on here; a raw connection runs no BEGIN (isolation_level None) and takes no gate.
    engine = session.get_bind()
    if not _checkpoint(engine):
        # A reader still on the old pages (a page being rendered) holds the log: try again
        # shortly, off this request, until it lets go.
        task = asyncio.get_running_loop().create_task(_checkpoint_soon(engine))
        _RETRIES.add(task)  # held until done (a bare task can be collected mid-way)
        task.add_done_callback(_RETRIES.discard)


def _checkpoint(engine) -> bool:
    """Checkpoint and truncate the write-ahead log; False if readers kept it busy."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
        try:
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            busy = cur.fetchone()[0]
        finally:
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
            cur.close()
        return not busy
    except Exception:  # the erasure has committed; a checkpoint later does the same
        log.exception("erasure: checkpoint of the write-ahead log failed")
        return False
    finally:
        raw.close()


async def _checkpoint_soon(engine, tries: int = 60) -> None:
    for _ in range(tries):
        await asyncio.sleep(1)
        if await greenlet_spawn(_checkpoint, engine):
            return
    log.warning("erasure: the write-ahead log stayed busy; its old pages go at the next checkpoint")


# --- One trip to the connection's thread per statement ---------------------------------------
# aiosqlite runs each connection on a thread of its own, and SQLAlchemy's adapter makes three or
# four trips there per statement (open a cursor, execute, fetch the rows, close). Each trip is a
# hand-over between threads, which on a busy machine waits for a core. This cursor does the
# statement and fetches its rows in one trip (through aiosqlite's own queue).


def _run(conn: sqlite3.Connection, operation: str, parameters, many: bool):
    cur = conn.cursor()
    try:
        if many:
            cur.executemany(operation, parameters)
        elif parameters is None:
            cur.execute(operation)
        else:
            cur.execute(operation, parameters)
        rows = cur.fetchall() if cur.description else []
        return cur.description, cur.rowcount, cur.lastrowid, rows
    finally:
        cur.close()


class OneTripCursor:
    """A DBAPI cursor for SQLAlchemy over an aiosqlite connection, one trip per statement."""

    server_side = False
    arraysize = 1

    def __init__(self, adapt_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection  # the aiosqlite Connection
        self.description = None
        self.rowcount = -1
        self.lastrowid = None
        self._rows: collections.deque = collections.deque()

    async def _trip(self, operation, parameters, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            self.description, self.rowcount, self.lastrowid, rows = await self._connection._execute(
                _run, self._connection._conn, operation, parameters, many
            )
        self._rows = collections.deque(rows)

    def execute(self, operation, parameters=None) -> None:
        try:
            await_(self._trip(operation, parameters, False))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation, seq_of_parameters) -> None:
        try:
            await_(self._trip(operation, seq_of_parameters, True))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _async_soft_close(self) -> None:
        """Nothing stays open on the thread: the rows were fetched with the statement."""

    def close(self) -> None:
        self._rows.clear()

    def setinputsizes(self, *inputsizes) -> None:
        pass

    def nextset(self) -> None:
        self._rows.clear()

    def fetchone(self):
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> list:
        size = self.arraysize if size is None else size
        return [self._rows.popleft() for _ in range(min(size, len(self._rows)))]

    def fetchall(self) -> list:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    def __iter__(self):
        while self._rows:
            yield self._rows.popleft()


class _OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor


class _OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg, **kw):
        adapted = super().connect(*arg, **kw)
        return _OneTripConnection(self, adapted._connection)


def dbapi() -> _OneTripDBAPI:
    """The DBAPI module for `create_async_engine(..., module=dbapi())`."""
    import aiosqlite

    return _OneTripDBAPI(aiosqlite, sqlite3)
