"""Shared fixtures: real databases (SQLite and PostgreSQL), real Temporal test servers, the app."""

from __future__ import annotations

import itertools
import os
import sys
import sysconfig
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import pytest_asyncio

# Real argon2 hashes, with cheap parameters so that creating test users stays fast.
from argon2 import PasswordHasher
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import backroom.auth.service as _auth_service
from backroom.db.migrate import upgrade_async
from backroom.db.session import Sessionmaker, make_engine, make_sessionmaker
from backroom.payments.localstripe_server import start_localstripe
from backroom.settings import Settings
from backroom.temporal import dev_server_args

_auth_service._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

PG_ADMIN = os.environ.get("BACKROOM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
_counter = itertools.count()


# temporalio can abort at interpreter exit (sdk-python#300); keep pytest's real exit code.
def pytest_sessionfinish(session, exitstatus):
    session.config._backroom_exit = int(exitstatus)


def pytest_unconfigure(config):
    code = getattr(config, "_backroom_exit", None)
    if code is not None and os.environ.get("BACKROOM_NO_HARD_EXIT") != "1":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def binary(name: str) -> str:
    path = Path(sysconfig.get_path("scripts")) / name
    if not path.exists():
        path = Path(sys.executable).parent / name
    return str(path)


@dataclass
class Database:
    kind: str
    url: str
    sessionmaker: Sessionmaker
    read_sessionmaker: Sessionmaker
    engine: object


def _pg_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


async def create_database(kind: str, tmp_path_factory) -> Database:
    """A new, migrated database of the given kind, private to the caller."""
    n = next(_counter)
    if kind == "sqlite":
        path = tmp_path_factory.mktemp("db") / f"backroom-{n}.db"
        url = f"sqlite+aiosqlite:///{path}"
    else:
        if not _pg_available():
            if os.environ.get("CI"):
                pytest.fail(f"PostgreSQL is required in CI but {PG_ADMIN} does not answer")
            pytest.skip("PostgreSQL is not running here")
        name = f"backroom_test_{os.getpid()}_{n}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
    await upgrade_async(url)
    if kind == "postgres":
        # Test databases share one Temporal server, and workflow ids come from record ids
        # (credit-limit-7): start each PostgreSQL database's ids far from SQLite's and from
        # each other's, as production has one database per namespace.
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
            start = 1_000_000_000 + n * 10_000_000
            for (seq,) in conn.execute(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
            ).fetchall():
                conn.execute(f'ALTER SEQUENCE "{seq}" RESTART WITH {start}')
    engine = make_engine(url)
    return Database(kind, url, make_sessionmaker(engine), make_sessionmaker(engine, readonly=True), engine)


async def drop_database(db: Database) -> None:
    await db.engine.dispose()
    if db.kind == "postgres":
        name = db.url.rsplit("/", 1)[1]
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sqlite_db(tmp_path_factory):
    db = await create_database("sqlite", tmp_path_factory)
    yield db
    await drop_database(db)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pg_db(tmp_path_factory):
    db = await create_database("postgres", tmp_path_factory)
    yield db
    await drop_database(db)


@pytest.fixture(params=["sqlite", "postgres"])
def db(request) -> Database:
    """Runs the test once on SQLite and once on PostgreSQL (shared, migrated databases)."""
    return request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "pg_db")


@pytest_asyncio.fixture(loop_scope="session")
async def fresh_db(request, tmp_path_factory):
    """A private database for a test that must own its whole state (e.g. tampers with it).
    Parametrize indirectly with "sqlite" or "postgres"; default SQLite."""
    db = await create_database(getattr(request, "param", "sqlite"), tmp_path_factory)
    yield db
    await drop_database(db)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        BACKROOM_VAR=tmp_path, SECRET_KEY="test-secret", COOKIE_SECURE=True, TEMPORAL_ADDRESS="127.0.0.1:1"
    )


@pytest_asyncio.fixture(loop_scope="session")
async def ts_env():
    """A time-skipping Temporal test server per test (~0.1 s to start): a workflow another test
    left running would otherwise stop the shared server from skipping time, and hang the next."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=pydantic_data_converter
    )

    async def sleep(duration: timedelta | float) -> None:
        # The SDK's sleep keeps the client's default 30 s RPC deadline, but skipping pauses
        # while an activity runs, and under a loaded CI machine a long skip took longer than
        # that in real time ("Timeout expired"). Same call, a deadline that fits the load.
        req = SleepRequest()
        req.duration.FromTimedelta(
            duration if isinstance(duration, timedelta) else timedelta(seconds=duration)
        )
        await env.client.test_service.unlock_time_skipping_with_sleep(req, timeout=timedelta(minutes=5))

    env.sleep = sleep
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env():
    """A real Temporal dev server (in memory), for integration tests through the API."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        data_converter=pydantic_data_converter,
        dev_server_extra_args=dev_server_args(),
    )
    yield env
    await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4().hex[:10]}"


# Commerce: one localstripe for the session and settings pointing at it.
@pytest.fixture(scope="session")
def localstripe():
    server = start_localstripe(port=0)
    yield server
    server.stop()


@pytest.fixture
def commerce_settings(settings, localstripe):
    settings.stripe_api_key = "sk_test_backroom"
    settings.stripe_api_base = localstripe.url
    settings.stripe_webhook_secret = "whsec_test"
    return settings
