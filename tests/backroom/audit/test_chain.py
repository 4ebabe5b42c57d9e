"""The audit chain is append-only on both databases, and tampering is found and named,
by the CLI and by the API."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from backroom.audit.models import AuditEvent
from backroom.audit.triggers import DROP
from tests.helpers import create_branch, create_user, make_app, token_client


def cli(db, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": db.url}
    return subprocess.run(
        [sys.executable, "-m", "backroom.cli", *args], env=env, capture_output=True, text=True, timeout=60
    )


async def _some_events(db):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        auditor = await create_user(s, grants=[("auditor", None)])
        clerk = await create_user(s, grants=[("clerk", b.id)])
    return b, auditor, clerk


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_events SET action = 'tampered' WHERE id = :id", "DELETE FROM audit_events WHERE id = :id"],
)
async def test_update_and_delete_of_audit_events_are_refused(db, statement):
    await _some_events(db)
    async with db.read_sessionmaker() as s:
        last = await s.scalar(select(func.max(AuditEvent.id)))
    with pytest.raises(DBAPIError, match="immutable"):
        async with db.sessionmaker.begin() as s:
            await s.execute(text(statement), {"id": last})
    async with db.read_sessionmaker() as s:
        assert await s.scalar(select(AuditEvent.action).where(AuditEvent.id == last)) != "tampered"


@pytest.mark.parametrize("fresh_db", ["sqlite", "postgres"], indirect=True)
async def test_cli_and_api_report_an_intact_chain(fresh_db, settings):
    """Asserts on the whole audit chain, so it owns its database."""
    db = fresh_db
    _b, auditor, clerk = await _some_events(db)
    run = cli(db, "audit", "verify")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "audit chain intact" in run.stdout
    app = make_app(db, settings)
    c = await token_client(app, db, auditor)
    report = (await c.get("/api/v1/audit/verify")).json()
    assert report["ok"] is True and report["checked"] > 0 and report["first_broken_id"] is None

    # Events of one record, newest first, a page at a time.
    first = (
        await c.get("/api/v1/audit/events", params={"entity_type": "user", "entity_id": clerk.id, "limit": 1})
    ).json()
    assert [e["action"] for e in first["items"]] == ["role.grant"] and first["next_cursor"]
    rest = (
        await c.get(
            "/api/v1/audit/events",
            params={"entity_type": "user", "entity_id": clerk.id, "cursor": first["next_cursor"]},
        )
    ).json()
    assert [e["action"] for e in rest["items"]] == ["user.create"] and rest["next_cursor"] is None
    # Without audit rights: refused.
    assert (await (await token_client(app, db, clerk)).get("/api/v1/audit/verify")).status_code == 403


async def test_branch_bound_reader_sees_only_their_branches_events(db, settings):
    async with db.sessionmaker.begin() as s:
        b1, b2 = await create_branch(s), await create_branch(s)
        manager = await create_user(s, grants=[("manager", b1.id)])
    app = make_app(db, settings)
    c = await token_client(app, db, manager)
    seen = {
        e["branch_id"] for e in (await c.get("/api/v1/audit/events", params={"limit": 200})).json()["items"]
    }
    assert b1.id in seen and b2.id not in seen and None not in seen


@pytest.mark.parametrize("fresh_db", ["sqlite", "postgres"], indirect=True)
async def test_tampering_is_found_and_the_first_broken_event_named(fresh_db, settings):
    db = fresh_db
    _, auditor, clerk = await _some_events(db)
    async with db.read_sessionmaker() as s:
        victim = await s.scalar(
            select(AuditEvent.id).where(
                AuditEvent.entity_type == "user",
                AuditEvent.entity_id == str(clerk.id),
                AuditEvent.action == "user.create",
            )
        )
    dialect = "postgresql" if db.kind == "postgres" else "sqlite"
    async with db.sessionmaker.begin() as s:
        for stmt in DROP[dialect]:  # what an attacker with database access could do
            await s.execute(text(stmt))
        await s.execute(
            text('UPDATE audit_events SET "after" = :v WHERE id = :id'),
            {"v": '{"username": "someone-else"}', "id": victim},
        )

    run = cli(db, "audit", "verify")
    assert run.returncode == 1
    assert f"BROKEN at event {victim}:" in run.stdout
    app = make_app(db, settings)
    report = (await (await token_client(app, db, auditor)).get("/api/v1/audit/verify")).json()
    assert report["ok"] is False and report["first_broken_id"] == victim
    assert report["problem"] == "contents do not match the stored hash"
