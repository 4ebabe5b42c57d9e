"""Sends queued notifications: SMTP when SMTP_HOST is set, else the staff mailbox page.

Each row is claimed with a conditional UPDATE (pending -> sending) before it is sent and marked
sent after, so two senders never send the same row and a re-run skips what is done. A claim
left behind by a sender that died is taken over after CLAIM_LEASE (the stable Message-ID lets
the receiving server drop the duplicate if the first attempt got through)."""

from __future__ import annotations

import asyncio
import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy import and_, or_, select, update

from backroom.db.base import utcnow
from backroom.db.session import Sessionmaker, point_reads
from backroom.notifications.models import Notification, NotificationStatus
from backroom.notifications.service import attachments_of
from backroom.settings import Settings

log = logging.getLogger("backroom.notifications")
MAX_ATTEMPTS = 5
# A sender that claimed a row and then died leaves it "sending"; after this long it is retried.
# Longer than any SMTP exchange (timeout 10 s), so a live sender's claim is never taken.
CLAIM_LEASE = timedelta(minutes=5)


def _message(settings: Settings, row: Notification, attachments=()) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = row.to_address
    msg["Subject"] = row.subject
    # A stable Message-ID lets a receiving server drop a duplicate after a crash mid-send.
    msg["Message-ID"] = f"<notification-{row.id}@backroom>"
    body = row.body
    if row.link:
        body += f"\n\n{settings.base_url}{row.link}"
    msg.set_content(body)
    for a in attachments:
        maintype, _, subtype = a.media_type.partition("/")
        msg.add_attachment(
            a.content, maintype=maintype, subtype=subtype or "octet-stream", filename=a.filename
        )
    return msg


def _smtp_send(settings: Settings, msg: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        smtp.send_message(msg)


async def send_pending(sessionmaker: Sessionmaker, settings: Settings, *, limit: int = 100) -> int:
    """Send up to `limit` pending messages; returns how many were sent. Idempotent."""
    stale = utcnow() - CLAIM_LEASE
    claimable = or_(
        Notification.status == NotificationStatus.PENDING,
        and_(Notification.status == NotificationStatus.SENDING, Notification.claimed_at < stale),
    )
    async with point_reads(sessionmaker)() as session:  # finding them takes no transaction
        ids = list(
            (
                await session.execute(
                    select(Notification.id).where(claimable).order_by(Notification.id).limit(limit)
                )
            ).scalars()
        )
    sent = 0
    for nid in ids:
        async with sessionmaker.begin() as session:
            # The claim returns the row it claimed: no read after it.
            row = (
                await session.execute(
                    update(Notification)
                    .where(Notification.id == nid, claimable)
                    .values(
                        status=NotificationStatus.SENDING,
                        claimed_at=utcnow(),
                        attempts=Notification.attempts + 1,
                    )
                    .returning(Notification)
                    .execution_options(synchronize_session=False, populate_existing=True)
                )
            ).scalar_one_or_none()
            if row is None:
                continue
            files = await attachments_of(session, nid)
        transport, error = "mailbox", None
        if settings.smtp_host and row.to_address:
            transport = "smtp"
            try:
                await asyncio.to_thread(_smtp_send, settings, _message(settings, row, files))
            except (OSError, smtplib.SMTPException) as exc:
                error = str(exc)[:500]
        async with sessionmaker.begin() as session:
            if error is None:
                values = {
                    "status": NotificationStatus.SENT,
                    "transport": transport,
                    "sent_at": utcnow(),
                    "last_error": None,
                }
                sent += 1
            else:
                log.warning("notification %s not sent: %s", nid, error)
                values = {
                    "status": NotificationStatus.FAILED
                    if row.attempts >= MAX_ATTEMPTS
                    else NotificationStatus.PENDING,
                    "last_error": error,
                }
            await session.execute(
                update(Notification)
                .where(Notification.id == nid, Notification.status == NotificationStatus.SENDING)
                .values(**values)
            )
    return sent


async def run_poller(sessionmaker: Sessionmaker, settings: Settings, *, interval: float = 2.0) -> None:
    """Forever: send what is pending, then sleep. Runs beside the Temporal worker."""
    while True:
        try:
            await send_pending(sessionmaker, settings)
        except Exception:  # keep polling through a database hiccup; the next round retries
            log.exception("notification sender round failed")
        await asyncio.sleep(interval)
