"""What the audit API returns."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from backroom.pagination import CursorText


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    actor_type: str
    actor_id: str
    actor_name: str | None
    action: str
    entity_type: str
    entity_id: str
    branch_id: int | None
    before: dict | None
    after: dict | None
    request_id: str | None
    workflow_id: str | None
    hash: str | None  # None until the sealer links the event into the chain


class AuditFilter(BaseModel):
    entity_type: str | None = Field(default=None, max_length=64)
    entity_id: str | None = Field(default=None, max_length=64)
    action: str | None = Field(default=None, max_length=64)
    limit: int = 50
    cursor: CursorText | None = None


class ChainReportRead(BaseModel):
    """The result of re-hashing the chain: ok, how many events were checked, the first broken
    link, the chain's head, and the events written but not sealed yet (how many, the oldest)."""

    model_config = ConfigDict(from_attributes=True)
    ok: bool
    checked: int
    first_broken_id: int | None = None
    problem: str | None = None
    head_seq: int | None = None
    head_hash: str | None = None
    unsealed: int = 0
    oldest_unsealed_id: int | None = None
    oldest_unsealed_at: datetime | None = None
