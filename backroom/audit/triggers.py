"""SQL that makes the audit table append-only, per dialect (used by the migration)."""

SQLITE = [
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit events are immutable'); END""",
    """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit events are immutable'); END""",
]

POSTGRESQL = [
    """CREATE OR REPLACE FUNCTION audit_events_immutable() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit events are immutable'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
       FOR EACH ROW EXECUTE FUNCTION audit_events_immutable()""",
    """CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
       FOR EACH STATEMENT EXECUTE FUNCTION audit_events_immutable()""",
]

DROP = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS audit_events_no_update",
        "DROP TRIGGER IF EXISTS audit_events_no_delete",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS audit_events_no_update ON audit_events",
        "DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events",
    ],
}


def create_statements(dialect: str) -> list[str]:
    return SQLITE if dialect == "sqlite" else POSTGRESQL
