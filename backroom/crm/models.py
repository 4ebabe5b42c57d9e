from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin, Transactional


class InteractionChannel(StrEnum):
    call = "call"
    email = "email"
    visit = "visit"
    note = "note"


class Direction(StrEnum):
    inbound = "inbound"
    outbound = "outbound"
    internal = "internal"


class TaskStatus(StrEnum):
    open = "open"
    reminded = "reminded"  # due: the assignee was told
    escalated = "escalated"  # missed past the grace time: the managers were told
    done = "done"


class Interaction(IdMixin, Transactional, Base):
    """A logged call, email, visit or note with a customer."""

    __tablename__ = "interactions"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[InteractionChannel] = mapped_column(String(10))
    direction: Mapped[Direction] = mapped_column(String(10))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(200))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    occurred_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_interactions_customer_at", "customer_id", "occurred_at"),
        Index("ix_interactions_branch_at", "branch_id", "occurred_at"),
    )


class FollowUpTask(IdMixin, Transactional, Base):
    """A follow-up due at a time, reminded and escalated by FollowUpWorkflow (followup-{id})."""

    __tablename__ = "followup_tasks"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"))
    title: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime]
    assignee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[TaskStatus] = mapped_column(String(10), default=TaskStatus.open, index=True)
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    workflow_id: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_followup_tasks_branch_due", "branch_id", "due_at"),)
