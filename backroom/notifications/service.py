"""The notification outbox: enqueue in the caller's transaction; list the mailbox."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import false, select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.auth.models import RoleGrant, User
from backroom.customers.models import Customer
from backroom.notifications.models import Notification, NotificationAttachment, NotificationStatus
from backroom.pagination import Page, paginate


@dataclass(frozen=True)
class Attachment:
    """A file to send with a message."""

    filename: str
    media_type: str
    content: bytes


async def enqueue(
    session: AsyncSession,
    *,
    kind: str,
    subject: str,
    body: str,
    to_user_id: int | None = None,
    to_customer_id: int | None = None,
    to_address: str | None = None,
    branch_id: int | None = None,
    link: str | None = None,
    dedupe_key: str | None = None,
    attachments: list[Attachment] = (),
) -> Notification | None:
    """Queue one message (with its attachments); it is sent after the surrounding transaction
    commits. Idempotent by `dedupe_key`. A customer without an email address (or erased) gets
    nothing: returns None."""
    if dedupe_key:
        existing = await session.scalar(select(Notification).where(Notification.dedupe_key == dedupe_key))
        if existing:
            return existing
    if to_address is None and to_user_id is not None:
        user = await session.get(User, to_user_id)
        to_address = user.email if user else None
    if to_address is None and to_customer_id is not None:
        customer = await session.get(Customer, to_customer_id)
        if not customer or not customer.email or customer.status == "erased":
            return None
        to_address = customer.email
    row = Notification(
        kind=kind,
        subject=subject[:200],
        body=body,
        to_user_id=to_user_id,
        to_customer_id=to_customer_id,
        to_address=to_address,
        branch_id=branch_id,
        link=link,
        dedupe_key=dedupe_key,
        status=NotificationStatus.PENDING,
    )
    session.add(row)
    await session.flush()
    for a in attachments:
        session.add(
            NotificationAttachment(
                notification_id=row.id, filename=a.filename, media_type=a.media_type, content=a.content
            )
        )
    if attachments:
        await session.flush()
    return row


async def attachments_of(session: AsyncSession, notification_id: int) -> list[NotificationAttachment]:
    rows = await session.execute(
        select(NotificationAttachment)
        .where(NotificationAttachment.notification_id == notification_id)
        .order_by(NotificationAttachment.id)
    )
    return list(rows.scalars())


async def users_with_role(session: AsyncSession, *, role: str, branch_id: int | None) -> list[int]:
    """Users holding `role` in the branch (or in every branch). Read-only."""
    cond = RoleGrant.branch_id.is_(None)
    if branch_id is not None:
        cond = cond | (RoleGrant.branch_id == branch_id)
    rows = await session.execute(select(RoleGrant.user_id).where(RoleGrant.role == role, cond).distinct())
    return sorted(r for (r,) in rows)


async def notify_role(
    session: AsyncSession,
    *,
    role: str,
    branch_id: int | None,
    kind: str,
    subject: str,
    body: str,
    link: str | None = None,
    dedupe_prefix: str | None = None,
) -> int:
    """Queue the message to every holder of `role` in the branch. Idempotent with a prefix."""
    n = 0
    for uid in await users_with_role(session, role=role, branch_id=branch_id):
        key = f"{dedupe_prefix}:u{uid}" if dedupe_prefix else None
        if await enqueue(
            session,
            kind=kind,
            subject=subject,
            body=body,
            to_user_id=uid,
            branch_id=branch_id,
            link=link,
            dedupe_key=key,
        ):
            n += 1
    return n


async def mailbox(
    session: AsyncSession,
    *,
    status: NotificationStatus | None = NotificationStatus.SENT,
    to_user_id: int | None = None,
    viewer_id: int | None = None,
    branch_ids: set[int] | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page:
    """Messages, newest first (the staff mailbox page): those of the viewer's branches (None:
    all) plus those addressed to the viewer. Read-only."""
    stmt = select(Notification)
    if branch_ids is not None:
        mine = Notification.to_user_id == viewer_id if viewer_id is not None else false()
        stmt = stmt.where(Notification.branch_id.in_(branch_ids or {-1}) | mine)
    if status:
        stmt = stmt.where(Notification.status == status)
    if to_user_id is not None:
        stmt = stmt.where(Notification.to_user_id == to_user_id)
    return await paginate(
        session,
        stmt,
        sort_col=Notification.id,
        id_col=Notification.id,
        limit=limit,
        cursor=cursor,
        descending=True,
    )
