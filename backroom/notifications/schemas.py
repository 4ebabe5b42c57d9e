"""What the mailbox API returns."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from backroom.notifications.models import NotificationStatus


class NotificationRead(BaseModel):
    """One message as the embedded sender delivered it (or will)."""

    model_config = ConfigDict(from_attributes=True, populate_by_name=True)
    id: int
    kind: str
    to: str | None = Field(validation_alias="to_address")
    to_user_id: int | None
    to_customer_id: int | None
    subject: str
    body: str
    link: str | None
    status: NotificationStatus
    transport: str | None
    sent_at: datetime | None
