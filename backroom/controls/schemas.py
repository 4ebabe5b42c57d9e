from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from backroom.controls.models import GatedKind, GatedStatus


class GatedActionRead(BaseModel):
    """A four-eyes request: answered (202) where the action waits for a second person."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: GatedKind
    status: GatedStatus
    title: str
    reason: str | None
    subject_type: str
    subject_id: str
    amount_minor: int | None
    currency: str | None
    branch_id: int
    requested_by_name: str | None
    decided_by_name: str | None
    result: str | None
    created_at: datetime
