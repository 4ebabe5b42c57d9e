"""The `backroom` command's administrative subcommands, against real databases.
(`backroom api`, `worker` and `run` are exercised for real by test_devstack.py.)"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

import policies
from backroom import cli
from backroom.settings import get_settings


@pytest.fixture
def embedded(tmp_path, monkeypatch):
    """The CLI pointed at an embedded SQLite database in a fresh var dir."""
    for name in ("DATABASE_URL", "TEMPORAL_ADDRESS", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BACKROOM_VAR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path / "backroom.db"
    get_settings.cache_clear()


def rows(path, sql: str) -> list:
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        out = [tuple(r) for r in conn.execute(text(sql))]
    engine.dispose()
    return out


def test_migrate_seed_users_and_audit_verify(embedded, capsys):
    assert cli.main(["migrate"]) == 0
    assert cli.main(["seed"]) == 0
    assert cli.main(["seed"]) == 0  # idempotent
    assert len(rows(embedded, "SELECT id FROM users")) == len(policies.ROLES)  # one demo user per role
    (main_branch,), (harbor,) = rows(embedded, "SELECT id FROM branches ORDER BY code")[:2]

    assert (
        cli.main(
            [
                "users",
                "create",
                "alice",
                "--password",
                "long-enough-pw",
                "--full-name",
                "Alice A",
                "--role",
                f"clerk@{main_branch}",
                "--role",
                "auditor",
            ]
        )
        == 0
    )
    assert rows(
        embedded,
        "SELECT u.full_name, g.role, g.branch_id FROM users u JOIN role_grants g ON g.user_id = u.id "
        "WHERE u.username = 'alice' ORDER BY g.role",
    ) == [("Alice A", "auditor", None), ("Alice A", "clerk", main_branch)]
    assert cli.main(["users", "create", "alice", "--password", "long-enough-pw"]) == 1  # taken
    assert "is taken" in capsys.readouterr().err

    assert cli.main(["users", "grant", "alice", "--role", f"finance@{harbor}"]) == 0
    assert cli.main(["users", "revoke", "alice", "--role", "auditor"]) == 0
    assert f"alice now holds: clerk@{main_branch}, finance@{harbor}" in capsys.readouterr().out
    assert cli.main(["users", "grant", "nobody", "--role", "clerk"]) == 1
    assert cli.main(["users", "grant", "alice", "--role", "wizard"]) == 1
    assert cli.main(["users", "grant", "alice", "--role", "clerk@999"]) == 1  # no such branch
    capsys.readouterr()

    assert cli.main(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert "audit chain intact" in out
    # Every change above is in the chain.
    actions = [
        a
        for (a,) in rows(
            embedded,
            "SELECT action FROM audit_events WHERE entity_type = 'user' AND actor_id = 'cli' ORDER BY id",
        )
    ]
    assert actions == ["user.create", "role.grant", "role.grant", "role.grant", "role.revoke"]


def test_seed_refuses_demo_users_on_a_real_database_unless_asked(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none")  # never reached
    monkeypatch.setenv("BACKROOM_VAR", str(tmp_path))
    get_settings.cache_clear()
    try:
        assert cli.main(["seed"]) == 2
        assert "pass --demo" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()


def test_reports_rollups_builds_the_demo_history_once(embedded, capsys):
    """`backroom reports rollups` builds every closed day of the range for each rolled-up source;
    run again it has nothing left to build (the days are built and clean)."""
    from datetime import UTC, datetime, timedelta

    assert cli.main(["migrate"]) == 0
    assert cli.main(["seed"]) == 0
    today = datetime.now(UTC).date()
    span = [
        "--from",
        (today - timedelta(days=30)).isoformat(),
        "--to",
        (today - timedelta(days=2)).isoformat(),
    ]
    capsys.readouterr()
    assert cli.main(["reports", "rollups", *span]) == 0
    built = dict(line.split(": ") for line in capsys.readouterr().out.strip().splitlines())
    branches = len(rows(embedded, "SELECT id FROM branches"))
    assert built["orders"] == f"{29 * branches} days built"
    assert rows(embedded, "SELECT count(*) FROM report_rollups WHERE source = 'orders'")[0][0] > 0
    assert cli.main(["reports", "rollups", *span]) == 0
    assert set(capsys.readouterr().out.strip().splitlines()) <= {f"{k}: 0 days built" for k in built}
