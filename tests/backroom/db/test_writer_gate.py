"""SQLite's writers queue for their turn (backroom/db/sqlite.py): many at once, in this process and
another, all commit and none meets "database is locked"; a wait that is given up leaks no turn."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time

import pytest
from sqlalchemy import func, select

from backroom.customers.models import Customer
from tests.helpers import create_branch, create_customer

# Another process writing the same database file with the same engine setup (as the worker
# does beside the web app): audited customers, or the gate held for a while.
OTHER = textwrap.dedent(
    """
    import asyncio, sys
    from backroom.db.session import make_engine, make_sessionmaker
    from backroom.branches.models import Branch
    from tests.helpers import create_customer

    async def main(url, branch_id, n, hold):
        engine = make_engine(url)
        maker = make_sessionmaker(engine)
        if hold:
            async with maker.begin() as s:
                await s.get(Branch, branch_id)
                print("holding", flush=True)
                await asyncio.sleep(hold)
        for _ in range(n):
            async with maker.begin() as s:
                await create_customer(s, branch=await s.get(Branch, branch_id), name="from the other process")
        await engine.dispose()

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])))
    """
)


async def new_branch(db):
    async with db.sessionmaker.begin() as s:
        return await create_branch(s)


async def add_customer(db, branch) -> None:
    async with db.sessionmaker.begin() as s:
        await create_customer(s, branch=branch)


def other_process(db, branch_id: int, *, n: int = 0, hold: float = 0) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", OTHER, db.url, str(branch_id), str(n), str(hold)],
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("fresh_db", ["sqlite"], indirect=True)
async def test_many_concurrent_writers_all_commit_without_database_is_locked(fresh_db):
    db = fresh_db
    branch = await new_branch(db)
    other = other_process(db, branch.id, n=60)
    errors: list[BaseException] = []

    async def writer(n: int) -> None:
        for _ in range(n):
            try:
                async with db.sessionmaker.begin() as s:
                    # Read, then write, in one transaction: the shape that fails to upgrade
                    # (SQLITE_BUSY_SNAPSHOT) when a transaction begins as a read.
                    await s.scalar(select(func.count()).select_from(Customer))
                    await create_customer(s, branch=branch)
            except Exception as exc:  # collected: the assertion names them
                errors.append(exc)

    async def reader() -> None:
        for _ in range(40):
            async with db.read_sessionmaker() as s:
                await s.scalar(select(func.count()).select_from(Customer))

    await asyncio.gather(*[writer(6) for _ in range(40)], *[reader() for _ in range(5)])
    assert await asyncio.to_thread(other.wait, 120) == 0
    assert errors == []
    async with db.read_sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Customer)) == 40 * 6 + 60


@pytest.mark.parametrize("fresh_db", ["sqlite"], indirect=True)
async def test_a_writer_waits_for_another_process_and_a_cancelled_wait_leaks_no_turn(fresh_db):
    db = fresh_db
    branch = await new_branch(db)
    other = other_process(db, branch.id, hold=1.0)
    assert await asyncio.to_thread(other.stdout.readline) == "holding\n"

    def write():
        return add_customer(db, branch)

    waiting = asyncio.create_task(write())
    await asyncio.sleep(0.2)
    assert not waiting.done()  # queued behind the other process
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    t0 = time.monotonic()
    await asyncio.wait_for(write(), timeout=10)  # its turn comes when the other process commits
    assert 0.3 < time.monotonic() - t0 < 5
    assert await asyncio.to_thread(other.wait, 30) == 0
    await asyncio.wait_for(write(), timeout=2)  # and nothing was left holding the gate
