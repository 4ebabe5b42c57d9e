"""Point reads on PostgreSQL run outside a transaction (no BEGIN/ROLLBACK round trips), and the
pool gives the next ordinary session its transaction back."""

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import select

from backroom.branches.models import Branch
from backroom.db.session import point_reads
from tests.helpers import create_branch


def _driver(conn):
    return conn.sync_connection.connection.driver_connection


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
async def test_point_reads_take_no_transaction_and_leave_none_behind(db):
    async with db.sessionmaker.begin() as s:
        branch = await create_branch(s)
    async with point_reads(db.sessionmaker)() as s:
        assert (await s.get(Branch, branch.id)).code == branch.code
        conn = await s.connection()
        assert _driver(conn).autocommit is True
        # After a read, no transaction is left open on the server (nothing to roll back).
        assert _driver(conn).info.transaction_status == TransactionStatus.IDLE
    async with db.sessionmaker.begin() as s:  # an ordinary session: in a transaction again
        await s.scalar(select(Branch.id).where(Branch.id == branch.id))
        conn = await s.connection()
        assert _driver(conn).autocommit is False
        assert _driver(conn).info.transaction_status == TransactionStatus.INTRANS


async def test_point_reads_on_sqlite_are_the_read_only_sessions(sqlite_db):
    async with sqlite_db.sessionmaker.begin() as s:
        branch = await create_branch(s)
    async with point_reads(sqlite_db.sessionmaker)() as s:
        assert (await s.get(Branch, branch.id)).id == branch.id
        conn = await s.connection()
        assert conn.sync_connection.get_execution_options().get("readonly") is True
