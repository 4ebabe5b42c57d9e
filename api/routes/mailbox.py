"""Mailbox API: messages the embedded sender delivered (no SMTP configured)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Session, require
from backroom.auth.principal import Principal
from backroom.notifications import service as notify

router = APIRouter(prefix="/api/v1/mailbox", tags=["notifications"])


@router.get("")
async def mailbox(
    session: Session,
    status: str = "sent",
    mine: bool = False,
    limit: int = 50,
    cursor: str | None = None,
    p: Principal = require("crm", "read"),
) -> dict:
    page = await notify.mailbox(
        session,
        status=status or None,
        to_user_id=p.user_id if mine else None,
        viewer_id=p.user_id,
        branch_ids=p.branch_ids("crm", "read"),
        limit=limit,
        cursor=cursor,
    )
    return {
        "items": [
            {
                "id": n.id,
                "kind": n.kind,
                "to": n.to_address,
                "to_user_id": n.to_user_id,
                "to_customer_id": n.to_customer_id,
                "subject": n.subject,
                "body": n.body,
                "link": n.link,
                "status": n.status,
                "transport": n.transport,
                "sent_at": n.sent_at.isoformat() if n.sent_at else None,
            }
            for n in page.items
        ],
        "next_cursor": page.next_cursor,
    }
