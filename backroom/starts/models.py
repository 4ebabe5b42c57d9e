from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin


class StartStatus(StrEnum):
    pending = "pending"
    started = "started"


class SignalStatus(StrEnum):
    pending = "pending"
    delivered = "delivered"
    dropped = "dropped"  # the workflow had finished or never existed: the record is the truth


class WorkflowStart(IdMixin, Base):
    """A workflow to start, written in the same transaction as the record it runs for.

    Plumbing, not a business record: it mirrors what Temporal's own history then shows, so it
    is not audited. The row makes "record committed but Temporal unreachable" recoverable."""

    __tablename__ = "workflow_starts"
    workflow_id: Mapped[str] = mapped_column(String(200), unique=True)
    workflow_type: Mapped[str] = mapped_column(String(100))
    args: Mapped[dict] = mapped_column(JSON)
    # None: the deployment's default queue (the domain does not know queues; the edge does).
    task_queue: Mapped[str | None] = mapped_column(String(100))
    branch_id: Mapped[int | None] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default=StartStatus.pending, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]


class WorkflowSignal(IdMixin, Base):
    """A signal to send to a running workflow, written with the record change it reports.

    Delivered after the commit (by the edge, else the worker's poller), in id order per
    workflow; at least once, so workflow signal handlers must tolerate a repeat."""

    __tablename__ = "workflow_signals"
    workflow_id: Mapped[str] = mapped_column(String(200), index=True)
    signal: Mapped[str] = mapped_column(String(100))
    args: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default=SignalStatus.pending, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
