"""Mailbox API: messages the embedded sender delivered (no SMTP configured)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from api.deps import Session, require
from backroom.auth.principal import Principal
from backroom.notifications import service as notify
from backroom.notifications.models import NotificationStatus
from backroom.notifications.schemas import NotificationRead
from backroom.pagination import CursorText, PageRead

router = APIRouter(prefix="/api/v1/mailbox", tags=["notifications"])


@router.get("")
async def mailbox(
    session: Session,
    status: NotificationStatus | Literal[""] = NotificationStatus.SENT,
    mine: bool = False,
    limit: int = 50,
    cursor: CursorText | None = None,
    p: Principal = require("crm", "read"),
) -> PageRead[NotificationRead]:
    """Messages, newest first: your branches' and those addressed to you (`mine`: only those);
    an empty `status` lists every status."""
    page = await notify.mailbox(
        session,
        status=status or None,
        to_user_id=p.user_id if mine else None,
        viewer_id=p.user_id,
        branch_ids=p.branch_ids("crm", "read"),
        limit=limit,
        cursor=cursor,
    )
    return PageRead[NotificationRead].of(page, NotificationRead)
