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


# The audit trail's statements as migration 0001 applied them (kept for that migration; 0920
# replaces them with `sealed_trail`).
SQLITE = immutable("sqlite", "audit_events")
POSTGRESQL = immutable("postgresql", "audit_events")
DROP = {
    "sqlite": drop_immutable("sqlite", "audit_events"),
    "postgresql": drop_immutable("postgresql", "audit_events")[:2],
}


def create_statements(dialect: str) -> list[str]:
    return SQLITE if dialect == "sqlite" else POSTGRESQL


# The columns of an audit event the sealer never touches (migration 0920's table).
EVENT_COLUMNS = (
    "id",
    "at",
    "actor_type",
    "actor_id",
    "actor_name",
    "action",
    "entity_type",
    "entity_id",
    "branch_id",
    "before",
    "after",
    "request_id",
    "workflow_id",
)
SEAL_COLUMNS = ("seq", "prev_hash", "hash")
_TRAIL = "audit events are immutable"
_UNSEALED_ONLY = "audit events are inserted unsealed; only the sealer links them into the chain"


def sealed_trail(dialect: str) -> list[str]:
    """The audit trail's triggers since 0920: no DELETE (nor TRUNCATE), no INSERT of an event
    that claims a chain position, and no UPDATE except the sealer's: setting all of seq,
    prev_hash and hash once, from NULL, with every other column unchanged. On PostgreSQL the
    insert trigger also gives the transaction its xid before it draws the event's id (the
    sealer's horizon depends on that order, docs/audit.md)."""
    unsealed_old = " AND ".join(f"OLD.{c} IS NULL" for c in SEAL_COLUMNS)
    sealed_new = " AND ".join(f"NEW.{c} IS NOT NULL" for c in SEAL_COLUMNS)
    claims_seal = " OR ".join(f"NEW.{c} IS NOT NULL" for c in SEAL_COLUMNS)
    if dialect == "sqlite":
        same = " AND ".join(f'NEW."{c}" IS OLD."{c}"' for c in EVENT_COLUMNS)
        return [
            f"""CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
       WHEN NOT ({unsealed_old} AND {sealed_new} AND {same})
       BEGIN SELECT RAISE(ABORT, '{_TRAIL}'); END""",
            f"""CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
       BEGIN SELECT RAISE(ABORT, '{_TRAIL}'); END""",
            f"""CREATE TRIGGER audit_events_unsealed_insert BEFORE INSERT ON audit_events
       WHEN {claims_seal}
       BEGIN SELECT RAISE(ABORT, '{_UNSEALED_ONLY}'); END""",
        ]
    strip = "".join(f" - '{c}'" for c in SEAL_COLUMNS)
    return [
        f"""CREATE OR REPLACE FUNCTION audit_events_immutable() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'UPDATE' AND {unsealed_old} AND {sealed_new}
            AND (to_jsonb(NEW){strip}) = (to_jsonb(OLD){strip}) THEN
           RETURN NEW;
         END IF;
         RAISE EXCEPTION '{_TRAIL}';
       END; $$ LANGUAGE plpgsql""",
        """CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
       FOR EACH ROW EXECUTE FUNCTION audit_events_immutable()""",
        """CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
       FOR EACH STATEMENT EXECUTE FUNCTION audit_events_immutable()""",
        f"""CREATE OR REPLACE FUNCTION audit_events_insert() RETURNS trigger AS $$
       BEGIN
         IF {claims_seal} THEN
           RAISE EXCEPTION '{_UNSEALED_ONLY}';
         END IF;
         PERFORM pg_current_xact_id();
         NEW.id := nextval('audit_events_id_seq');
         RETURN NEW;
       END; $$ LANGUAGE plpgsql""",
        """CREATE TRIGGER audit_events_insert BEFORE INSERT ON audit_events
       FOR EACH ROW EXECUTE FUNCTION audit_events_insert()""",
    ]


def drop_sealed_trail(dialect: str) -> list[str]:
    """Undo `sealed_trail` (a downgrade; the tests do it as an attacker with DB access would)."""
    if dialect == "sqlite":
        return [
            "DROP TRIGGER IF EXISTS audit_events_no_update",
            "DROP TRIGGER IF EXISTS audit_events_no_delete",
            "DROP TRIGGER IF EXISTS audit_events_unsealed_insert",
        ]
    return [
        "DROP TRIGGER IF EXISTS audit_events_no_update ON audit_events",
        "DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events",
        "DROP TRIGGER IF EXISTS audit_events_insert ON audit_events",
        "DROP FUNCTION IF EXISTS audit_events_immutable()",
        "DROP FUNCTION IF EXISTS audit_events_insert()",
    ]
