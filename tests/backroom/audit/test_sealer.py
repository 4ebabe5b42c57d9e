"""The sealer links committed events into the chain after commit: writers never wait for it,
an event committed late (a long transaction on PostgreSQL) still lands in id order, and a
process killed between its commits and the next seal loses nothing."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import textwrap

import pytest
from sqlalchemy import func, select

from backroom.audit import sealer
from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.audit.models import AuditEvent
from backroom.auth.models import User
from tests.helpers import create_user, eventually

ACTOR = Actor.system("test")


async def _write(session, n: int) -> int:
    ev = await audit.record(session, actor=ACTOR, action="test.write", entity_type="test", entity_id=n)
    await session.flush()  # the event draws its id now (record() leaves it to the next flush)
    return ev.id


@pytest.mark.parametrize("fresh_db", ["postgres"], indirect=True)
async def test_an_event_that_commits_after_later_ids_is_still_sealed_in_id_order(fresh_db):
    """PostgreSQL: event A draws its id, event B a later one and commits first. The sealer
    does not pass A while A's transaction runs (it would leave A behind the chain's head);
    once A commits, both are sealed, A first."""
    db = fresh_db
    slow = db.sessionmaker()
    await slow.begin()
    a = await _write(slow, 1)
    async with db.sessionmaker.begin() as s:
        b = await _write(s, 2)
    assert a < b
    assert await sealer.seal(db.sessionmaker, wait=0.3) == 0  # A still open: nothing sealed
    async with db.read_sessionmaker() as s:
        assert await s.scalar(select(AuditEvent.hash).where(AuditEvent.id == b)) is None
    await slow.commit()
    await slow.close()
    assert await sealer.seal(db.sessionmaker) == 2
    async with db.read_sessionmaker() as s:
        seqs = dict((await s.execute(select(AuditEvent.id, AuditEvent.seq))).all())
        report = await audit.verify(s)
    assert seqs[a] + 1 == seqs[b]
    assert report.ok and report.unsealed == 0 and report.checked == len(seqs)


async def test_writers_do_not_wait_for_one_another(pg_db):
    """PostgreSQL: twenty writers hold their transactions open at once, each with its audit
    event written: none of them waits for another (the old chain lock made them queue).
    SQLite has one writer at a time by design."""
    db = pg_db
    gate = asyncio.Event()
    written = 0

    async def writer(n: int) -> None:
        nonlocal written
        async with db.sessionmaker.begin() as s:
            await _write(s, n)
            written += 1
            await gate.wait()

    tasks = [asyncio.create_task(writer(n)) for n in range(20)]

    async def all_written() -> bool:
        return written == 20

    await eventually(all_written, timeout=10)
    gate.set()
    await asyncio.gather(*tasks)


async def test_the_sealer_loop_seals_new_events_within_its_period(db, caplog):
    """And it logs the chain's head (a copy off the database, for the threat model)."""
    caplog.set_level(logging.INFO, logger="backroom.audit.sealer")
    loop = asyncio.create_task(sealer.run(db.sessionmaker, every=0.1, note_head_every=0))
    try:
        async with db.sessionmaker.begin() as s:
            ev = await _write(s, 3)

        async def sealed_and_noted() -> bool:
            async with db.read_sessionmaker() as s:
                row = (
                    await s.execute(select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.id == ev))
                ).one()
            return row.hash is not None and f"head: position {row.seq}, hash {row.hash}" in caplog.text

        await eventually(sealed_and_noted, timeout=10)
    finally:
        loop.cancel()
    async with db.read_sessionmaker() as s:
        assert (await audit.verify(s)).ok


WRITER = textwrap.dedent(
    """
    import asyncio, sys, time
    from backroom.audit.context import Actor
    from backroom.auth import service as auth
    from backroom.db.session import make_engine, make_sessionmaker

    async def main(url, n):
        maker = make_sessionmaker(make_engine(url))
        for i in range(n):
            async with maker.begin() as s:  # a business write and its audit event, one commit
                await auth.create_user(s, actor=Actor.system("writer"), username=f"killed-{i}",
                                       full_name="K", password="long-enough-pw", grants=[])
        async with maker.begin() as s:  # written, never committed: the kill lands here
            await auth.create_user(s, actor=Actor.system("writer"), username="never-committed",
                                   full_name="K", password="long-enough-pw", grants=[])
            print("committed", n, flush=True)
            time.sleep(600)

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
    """
)


@pytest.mark.parametrize("fresh_db", ["sqlite", "postgres"], indirect=True)
async def test_kill_9_between_commit_and_seal_loses_nothing(fresh_db):
    """A real process commits users with their audit events, then dies by SIGKILL with one more
    written but not committed (and nothing sealed). Every committed write keeps its event; the
    uncommitted one left neither; the next seal links them all and the chain verifies."""
    db = fresh_db
    async with db.sessionmaker.begin() as s:
        await create_user(s, grants=[])
    await sealer.seal(db.sessionmaker)  # an existing chain, so the new events extend it
    env = {**os.environ, "AUDIT_SEAL_SECONDS": "0"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, db.url, "5", env=env, stdout=asyncio.subprocess.PIPE
    )
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
        assert line.decode().strip() == "committed 5"
    finally:
        proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(proc.wait(), timeout=30)
    assert proc.returncode == -signal.SIGKILL

    async with db.read_sessionmaker() as s:
        users = set(await s.scalars(select(User.username).where(User.username.like("%-committed"))))
        users |= set(await s.scalars(select(User.username).where(User.username.like("killed-%"))))
        report = await audit.verify(s)
    assert users == {f"killed-{i}" for i in range(5)}  # the uncommitted one is gone entirely
    assert report.ok and report.unsealed == 5

    assert await sealer.seal(db.sessionmaker, wait=30) == 5
    async with db.read_sessionmaker() as s:
        report = await audit.verify(s)
        total = await s.scalar(select(func.count()).select_from(AuditEvent))
        created = set(
            await s.scalars(
                select(AuditEvent.after["username"].as_string()).where(AuditEvent.action == "user.create")
            )
        )
    assert report.ok and report.unsealed == 0 and report.checked == total
    assert {f"killed-{i}" for i in range(5)} <= created and "never-committed" not in created
