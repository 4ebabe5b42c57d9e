"""The outbox sender: a real SMTP server (aiosmtpd) on a loopback port, and the embedded mailbox."""

from aiosmtpd.controller import Controller

from backroom.notifications import service as notify
from backroom.notifications.models import Notification
from backroom.notifications.sender import send_pending
from tests.helpers import free_port, uniq


class Sink:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content.decode()))
        return "250 OK"


async def test_smtp_delivery_marks_sent_once(sqlite_db, settings):
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings.smtp_host, settings.smtp_port = "127.0.0.1", port
        to = f"{uniq()}@customer.test"
        async with sqlite_db.sessionmaker.begin() as s:
            row = await notify.enqueue(
                s, kind="test", to_address=to, subject="Your complaint", body="Hello", dedupe_key=uniq("k")
            )
            again = await notify.enqueue(
                s,
                kind="test",
                to_address=to,
                subject="Your complaint",
                body="Hello",
                dedupe_key=row.dedupe_key,
            )
            assert again.id == row.id
        assert await send_pending(sqlite_db.sessionmaker, settings) >= 1
        assert await send_pending(sqlite_db.sessionmaker, settings) == 0  # nothing sent twice
        mine = [m for m in sink.messages if m[0] == [to]]
        assert len(mine) == 1 and "Subject: Your complaint" in mine[0][1]
        assert f"<notification-{row.id}@backroom>" in mine[0][1]
        async with sqlite_db.sessionmaker() as s:
            sent = await s.get(Notification, row.id)
            assert (sent.status, sent.transport) == ("sent", "smtp") and sent.sent_at
    finally:
        controller.stop()


async def test_unreachable_smtp_keeps_row_pending(sqlite_db, settings):
    settings.smtp_host, settings.smtp_port = "127.0.0.1", free_port()
    async with sqlite_db.sessionmaker.begin() as s:
        row = await notify.enqueue(s, kind="test", to_address="x@y.test", subject="s", body="b")
    await send_pending(sqlite_db.sessionmaker, settings)
    async with sqlite_db.sessionmaker() as s:
        again = await s.get(Notification, row.id)
        assert again.status == "pending" and again.attempts == 1 and again.last_error


async def test_embedded_mode_delivers_to_mailbox(sqlite_db, settings):
    assert settings.smtp_host is None
    async with sqlite_db.sessionmaker.begin() as s:
        row = await notify.enqueue(
            s, kind="test", to_address="staff@x.test", subject=uniq("Mailbox "), body="b"
        )
    await send_pending(sqlite_db.sessionmaker, settings)
    async with sqlite_db.sessionmaker() as s:
        page = await notify.mailbox(s, limit=200)
        assert row.id in [n.id for n in page.items]
        assert (await s.get(Notification, row.id)).transport == "mailbox"


async def test_a_claim_abandoned_by_a_dead_sender_is_taken_over_after_the_lease(sqlite_db, settings):
    from datetime import timedelta

    from sqlalchemy import update

    from backroom.db.base import utcnow
    from backroom.notifications.sender import CLAIM_LEASE

    async with sqlite_db.sessionmaker.begin() as s:
        dead = await notify.enqueue(s, kind="test", to_address="a@x.test", subject=uniq("Dead "), body="b")
        live = await notify.enqueue(s, kind="test", to_address="b@x.test", subject=uniq("Live "), body="b")
        # `dead` was claimed long ago by a sender that crashed; `live` is being sent right now.
        for row, claimed in ((dead, utcnow() - CLAIM_LEASE - timedelta(seconds=1)), (live, utcnow())):
            await s.execute(
                update(Notification)
                .where(Notification.id == row.id)
                .values(status="sending", claimed_at=claimed, attempts=1)
            )
    await send_pending(sqlite_db.sessionmaker, settings)
    async with sqlite_db.sessionmaker() as s:
        taken = await s.get(Notification, dead.id)
        assert (taken.status, taken.attempts) == ("sent", 2)
        assert (await s.get(Notification, live.id)).status == "sending"
