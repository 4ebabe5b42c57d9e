"""The audit chain is append-only on both databases (the sealer's one update aside), and
tampering is found and named, by the CLI and by the API."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from backroom.audit import sealer
from backroom.audit.models import AuditEvent
from backroom.audit.service import verify as audit_verify
from backroom.audit.triggers import drop_sealed_trail, sealed_trail
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


async def _event_of(db, user_id: int, action: str) -> int:
    async with db.read_sessionmaker() as s:
        return await s.scalar(
            select(AuditEvent.id).where(
                AuditEvent.entity_type == "user",
                AuditEvent.entity_id == str(user_id),
                AuditEvent.action == action,
            )
        )


async def _as_attacker(db, *statements: tuple[str, dict]):
    """Drop the triggers, run SQL and put the triggers back, as someone with write access to
    the database could."""
    dialect = "postgresql" if db.kind == "postgres" else "sqlite"
    async with db.sessionmaker.begin() as s:
        for stmt in drop_sealed_trail(dialect):
            await s.execute(text(stmt))
        for stmt, params in statements:
            await s.execute(text(stmt), params)
        for stmt in sealed_trail(dialect):
            await s.execute(text(stmt))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'tampered' WHERE id = :id",
        "DELETE FROM audit_events WHERE id = :id",
        # Sealed once, never again: not even the chain fields alone.
        "UPDATE audit_events SET hash = :h, prev_hash = :h, seq = seq WHERE id = :id",
    ],
)
async def test_update_and_delete_of_sealed_audit_events_are_refused(db, statement):
    await _some_events(db)
    await sealer.seal(db.sessionmaker)
    async with db.read_sessionmaker() as s:
        last = await s.scalar(select(func.max(AuditEvent.id)))
    with pytest.raises(DBAPIError, match="immutable"):
        async with db.sessionmaker.begin() as s:
            await s.execute(text(statement), {"id": last, "h": "f" * 64})
    async with db.read_sessionmaker() as s:
        ev = await s.get(AuditEvent, last)
        assert ev.action != "tampered" and ev.hash != "f" * 64


async def test_an_unsealed_event_takes_only_the_sealers_update(db):
    """Before sealing, only all three chain fields may be set, and nothing else with them; an
    event cannot be inserted already claiming a place in the chain."""
    _b, _auditor, clerk = await _some_events(db)
    victim = await _event_of(db, clerk.id, "role.grant")
    refused = [
        ("UPDATE audit_events SET action = 'tampered' WHERE id = :id", "immutable"),
        (
            "UPDATE audit_events SET seq = -1, prev_hash = :h, hash = :h, actor_id = 'x' WHERE id = :id",
            "immutable",
        ),
        ("UPDATE audit_events SET hash = :h WHERE id = :id", "immutable"),
        (
            "INSERT INTO audit_events (at, actor_type, actor_id, action, entity_type, entity_id, "
            "seq, prev_hash, hash) VALUES (CURRENT_TIMESTAMP, 'user', '1', 'x', 'x', '1', -2, :h, :h)",
            "only the sealer",
        ),
    ]
    for stmt, message in refused:
        with pytest.raises(DBAPIError, match=message):
            async with db.sessionmaker.begin() as s:
                await s.execute(text(stmt), {"id": victim, "h": "e" * 64})
    async with db.read_sessionmaker() as s:
        ev = await s.get(AuditEvent, victim)
        assert (ev.action, ev.hash, ev.seq) == ("role.grant", None, None)


@pytest.mark.parametrize("fresh_db", ["sqlite", "postgres"], indirect=True)
async def test_cli_and_api_report_an_intact_chain(fresh_db, settings):
    """Asserts on the whole audit chain, so it owns its database."""
    db = fresh_db
    _b, auditor, clerk = await _some_events(db)
    # Written, not sealed yet: intact, and the waiting events are counted.
    run = cli(db, "audit", "verify")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "audit chain intact: 0 events" in run.stdout and "events not sealed yet" in run.stdout
    sealed = cli(db, "audit", "seal")
    assert sealed.returncode == 0 and "sealed" in sealed.stdout, sealed.stdout + sealed.stderr
    run = cli(db, "audit", "verify", "--max-unsealed-age", "60")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "audit chain intact" in run.stdout and "0 events not sealed yet" in run.stdout

    app = make_app(db, settings)
    c = await token_client(app, db, auditor)  # one more event, written now, not sealed
    report = (await c.get("/api/v1/audit/verify")).json()
    assert report["ok"] is True and report["checked"] > 0 and report["first_broken_id"] is None
    assert report["head_seq"] == report["checked"] and len(report["head_hash"]) == 64
    assert report["unsealed"] == 1 and report["oldest_unsealed_id"] > 0

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


async def test_verify_fails_when_events_wait_too_long_to_be_sealed(fresh_db):
    await _some_events(fresh_db)
    run = cli(fresh_db, "audit", "verify", "--max-unsealed-age", "0")
    assert run.returncode == 2, run.stdout + run.stderr
    assert "events not sealed yet (the oldest, event" in run.stdout
    assert "wait longer than 0 s to be sealed" in run.stdout


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
async def test_an_edited_event_is_found_and_named(fresh_db, settings):
    db = fresh_db
    _, auditor, clerk = await _some_events(db)
    await sealer.seal(db.sessionmaker)
    victim = await _event_of(db, clerk.id, "user.create")
    await _as_attacker(
        db,
        ('UPDATE audit_events SET "after" = :v WHERE id = :id', {"v": '{"username": "x"}', "id": victim}),
    )

    run = cli(db, "audit", "verify")
    assert run.returncode == 1
    assert f"BROKEN at event {victim}:" in run.stdout
    app = make_app(db, settings)
    report = (await (await token_client(app, db, auditor)).get("/api/v1/audit/verify")).json()
    assert report["ok"] is False and report["first_broken_id"] == victim
    assert report["problem"] == "contents do not match the stored hash"


@pytest.mark.parametrize("fresh_db", ["sqlite", "postgres"], indirect=True)
async def test_a_deleted_event_is_found_and_its_place_named(fresh_db):
    db = fresh_db
    _, _auditor, clerk = await _some_events(db)
    await sealer.seal(db.sessionmaker)
    victim = await _event_of(db, clerk.id, "user.create")
    async with db.read_sessionmaker() as s:
        seq = await s.scalar(select(AuditEvent.seq).where(AuditEvent.id == victim))
        after = await s.scalar(select(func.min(AuditEvent.id)).where(AuditEvent.id > victim))
    await _as_attacker(db, ("DELETE FROM audit_events WHERE id = :id", {"id": victim}))

    run = cli(db, "audit", "verify")
    assert run.returncode == 1
    assert f"BROKEN at event {after}: chain position {seq} is missing" in run.stdout


@pytest.mark.parametrize("fresh_db", ["sqlite", "postgres"], indirect=True)
async def test_an_event_inserted_into_the_sealed_chain_is_found_and_named(fresh_db):
    """An event slipped in below the chain's head, unsealed (the sealer never leaves one there,
    and never seals it): named. One forged as sealed breaks the next event's link: named too."""
    db = fresh_db
    await _some_events(db)
    await sealer.seal(db.sessionmaker)
    async with db.read_sessionmaker() as s:
        first = await s.get(AuditEvent, await s.scalar(select(func.min(AuditEvent.id))))
    columns = "id, at, actor_type, actor_id, action, entity_type, entity_id"
    await _as_attacker(
        db,
        (
            f"INSERT INTO audit_events ({columns}) "
            "VALUES (:id, CURRENT_TIMESTAMP, 'user', '1', 'credit.approve', 'customer', '7')",
            {"id": first.id - 1},
        ),
    )
    await sealer.seal(db.sessionmaker)
    run = cli(db, "audit", "verify")
    assert run.returncode == 1
    assert f"BROKEN at event {first.id - 1}: it is not sealed but event {first.id} after it is" in run.stdout
    assert "1 events not sealed yet" in run.stdout

    # Forged as the first link of the chain: the real first event no longer follows it.
    await _as_attacker(
        db,
        ("DELETE FROM audit_events WHERE id = :id", {"id": first.id - 1}),
        (
            f"INSERT INTO audit_events ({columns}, seq, prev_hash, hash) VALUES (:id, CURRENT_TIMESTAMP, "
            "'user', '1', 'credit.approve', 'customer', '7', 0, :prev, :prev)",
            {"id": first.id - 1, "prev": first.prev_hash},
        ),
    )
    run = cli(db, "audit", "verify")
    assert run.returncode == 1
    assert f"BROKEN at event {first.id - 1}: it claims chain position 0 where 1 belongs" in run.stdout


@pytest.mark.parametrize("fresh_db", ["sqlite", "postgres"], indirect=True)
async def test_a_chain_built_before_the_sealer_stays_valid_and_grows(fresh_db):
    """Down to before 0920 and up again: events chained the old way (id = position, hashed in the
    writer's transaction) still verify after migration 0920, and the sealer extends the chain."""
    from datetime import UTC, datetime

    from alembic import command
    from alembic.script import ScriptDirectory

    from backroom.audit.service import GENESIS, event_hash
    from backroom.db.migrate import alembic_config, upgrade_async

    db = fresh_db
    await sealer.seal(db.sessionmaker)  # the old schema has no room for unsealed events
    async with db.read_sessionmaker() as s:
        start = (await s.scalar(select(func.max(AuditEvent.id)))) or 0
    await db.engine.dispose()
    cfg = alembic_config(db.url)
    before_sealer = ScriptDirectory.from_config(cfg).get_revision("0920").down_revision
    await asyncio.to_thread(command.downgrade, cfg, before_sealer)
    async with db.read_sessionmaker() as s:  # the chain so far, if any, ends here
        prev = (await s.scalar(text("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1"))) or GENESIS
    old = []
    for n in range(start + 1, start + 4):
        at = datetime(2026, 1, 1, 12, n, tzinfo=UTC)
        fields = {
            **dict.fromkeys(("actor_name", "branch_id", "before", "request_id", "workflow_id")),
            **{"id": n, "at": at.isoformat(), "actor_type": "system", "actor_id": "old"},
            **{"action": "old.write", "entity_type": "thing", "entity_id": str(n), "after": {"n": n}},
        }
        old.append({**fields, "at": at, "prev_hash": prev, "hash": event_hash(prev, fields)})
        prev = old[-1]["hash"]
    async with db.sessionmaker.begin() as s:
        await s.execute(AuditEvent.__table__.insert(), old)
    await db.engine.dispose()
    await upgrade_async(db.url)

    async with db.read_sessionmaker() as s:
        report = await audit_verify(s)
    assert report.ok and report.checked == start + 3 and report.head_seq == start + 3
    async with db.sessionmaker.begin() as s:
        await create_user(s, grants=[])
    assert await sealer.seal(db.sessionmaker) >= 1
    async with db.read_sessionmaker() as s:
        report = await audit_verify(s)
    assert report.ok and report.unsealed == 0 and report.head_seq > start + 3
