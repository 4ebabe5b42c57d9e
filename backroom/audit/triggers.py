"""SQL that makes a table append-only, per dialect (used by migrations): the audit trail, report
snapshots. UPDATE and DELETE (and on PostgreSQL TRUNCATE) raise "<table words> are immutable"."""


def _message(table: str) -> str:
    return f"{table.replace('_', ' ')} are immutable"


def immutable(dialect: str, table: str) -> list[str]:
    """Statements that make `table` refuse UPDATE and DELETE on this dialect."""
    msg = _message(table)
    if dialect == "sqlite":
        return [
            f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
       BEGIN SELECT RAISE(ABORT, '{msg}'); END""",
            f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
       BEGIN SELECT RAISE(ABORT, '{msg}'); END""",
        ]
    return [
        f"""CREATE OR REPLACE FUNCTION {table}_immutable() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION '{msg}'; END; $$ LANGUAGE plpgsql""",
        f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE OR DELETE ON {table}
       FOR EACH ROW EXECUTE FUNCTION {table}_immutable()""",
        f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
       FOR EACH STATEMENT EXECUTE FUNCTION {table}_immutable()""",
    ]


def drop_immutable(dialect: str, table: str) -> list[str]:
    """Undo `immutable` (for a migration's downgrade)."""
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {table}_no_update", f"DROP TRIGGER IF EXISTS {table}_no_delete"]
    return [
        f"DROP TRIGGER IF EXISTS {table}_no_update ON {table}",
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
        f"DROP FUNCTION IF EXISTS {table}_immutable()",
    ]


# The audit trail's statements, as migration 0001 applies them.
SQLITE = immutable("sqlite", "audit_events")
POSTGRESQL = immutable("postgresql", "audit_events")
DROP = {
    "sqlite": drop_immutable("sqlite", "audit_events"),
    "postgresql": drop_immutable("postgresql", "audit_events")[:2],
}


def create_statements(dialect: str) -> list[str]:
    return SQLITE if dialect == "sqlite" else POSTGRESQL
