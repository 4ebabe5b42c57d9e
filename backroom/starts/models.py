from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin


class WorkflowStart(IdMixin, Base):
    """A workflow to start, written in the same transaction as the record it runs for.

    Plumbing, not a business record: it mirrors what Temporal's own history then shows, so it
    is not audited. The row makes "record committed but Temporal unreachable" recoverable."""

    __tablename__ = "workflow_starts"
    workflow_id: Mapped[str] = mapped_column(String(200), unique=True)
    workflow_type: Mapped[str] = mapped_column(String(100))
    args: Mapped[dict] = mapped_column(JSON)
    task_queue: Mapped[str] = mapped_column(String(100))
    branch_id: Mapped[int | None] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)  # pending | started
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
