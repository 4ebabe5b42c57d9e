from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, FetchedValue, Index, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, Id


class AuditEvent(Base):
    """One immutable record of a write, inserted in the writer's own transaction with no lock:
    `id` comes from the database (a sequence on PostgreSQL, the rowid on SQLite). The sealer
    (backroom.audit.sealer) later links committed events into the hash chain in id order,
    setting `seq` (the chain position, 1, 2, 3...), `prev_hash` and `hash` once, from NULL.
    Triggers refuse DELETE and every other UPDATE (docs/audit.md)."""

    __tablename__ = "audit_events"
    # PostgreSQL: a BEFORE INSERT trigger draws the id (after giving the transaction its xid,
    # which the sealer's horizon relies on), hence no client-side default.
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True, server_default=FetchedValue())
    at: Mapped[datetime]
    actor_type: Mapped[str] = mapped_column(String(16))  # user | workflow | system
    actor_id: Mapped[str] = mapped_column(String(200))
    actor_name: Mapped[str | None] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    branch_id: Mapped[int | None] = mapped_column(BigInteger)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))
    workflow_id: Mapped[str | None] = mapped_column(String(200))
    # Set by the sealer, once; NULL while the event waits to be sealed.
    seq: Mapped[int | None] = mapped_column(BigInteger)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_events_entity", "entity_type", "entity_id"),
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_action_at", "action", "at"),
        Index("uq_audit_events_seq", "seq", unique=True),
        # The sealer's and verify's "oldest unsealed events" (a small partial index).
        Index(
            "ix_audit_events_unsealed",
            "id",
            postgresql_where=text("hash IS NULL"),
            sqlite_where=text("hash IS NULL"),
        ),
    )


class SubjectKey(Base):
    """The data key of one data subject (`customer:7`, or `order:12` for a storefront order
    placed before it joined a customer): personal fields of audit events about the subject are
    stored encrypted with it (backroom.audit.shred). Erasure destroys it (`key` NULL,
    `destroyed_at` set; the row stays so that later events are not encrypted under a new key
    and readers can say "erased" rather than "unknown")."""

    __tablename__ = "subject_keys"
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime]
    destroyed_at: Mapped[datetime | None]
