"""Report subscriptions: the snapshot's file arrives attached over real SMTP (aiosmtpd) with a
link to the live report and a signed unsubscribe link; "only if data"; only what the user may read."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, date, datetime

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from backroom.audit.models import AuditEvent
from backroom.auth import service as auth
from backroom.errors import Forbidden
from backroom.notifications.models import Notification
from backroom.notifications.sender import send_pending
from backroom.reports import snapshots, subscriptions
from backroom.reports.flow import SnapshotAsk
from backroom.reports.models import ReportSnapshotFile, ReportSubscription
from backroom.reports.ops_schemas import SubscriptionCreate
from backroom.reports.periods import Edition
from policies import load_enforcer
from tests.helpers import (
    TEST_ACTOR,
    client_for,
    create_branch,
    create_customer,
    create_user,
    free_port,
    make_app,
    uniq,
)

DAY = date(2026, 4, 14)


class Sink:
    def __init__(self):
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"


@pytest.fixture
def smtp(settings):
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings.smtp_host, settings.smtp_port = "127.0.0.1", port
    yield sink
    controller.stop()


async def _people(db, *, with_data=True, role="manager"):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s, timezone="Europe/Paris")
        if with_data:
            await create_customer(s, branch=b, created_at=datetime(2026, 4, 14, 10, tzinfo=UTC))
        user = await create_user(
            s, grants=[(role, b.id)], email=f"{uniq('m')}@staff.test", full_name="Mia Manager"
        )
    return b, user


async def _subscribe(db, user, **kw):
    async with db.sessionmaker.begin() as s:
        p = await auth.principal_for(s, user, load_enforcer())
        data = SubscriptionCreate(**{"function": "customers", "edition": Edition.DAILY, **kw})
        return await subscriptions.subscribe(s, p=p, data=data)


async def _snapshot(db, settings, branch_id):
    ask = SnapshotAsk(
        function="customers", edition=Edition.DAILY, label=DAY.isoformat(), branch_id=branch_id, force=True
    )
    return await snapshots.produce(db.sessionmaker, ask, workflow_id=uniq("wf-"), settings=settings)


def _mine(sink, address):
    return [
        email.message_from_bytes(raw, policy=email.policy.default)
        for to, raw in sink.messages
        if to == [address]
    ]


async def test_the_subscriber_gets_the_file_attached_with_live_and_unsubscribe_links(
    sqlite_db, settings, smtp
):
    db = sqlite_db
    b, user = await _people(db)
    sub = await _subscribe(db, user, branch_ids=[b.id], format="xlsx")
    done = await _snapshot(db, settings, b.id)
    assert done.notified == 1
    await send_pending(db.sessionmaker, settings)
    (msg,) = _mine(smtp, user.email)
    assert "Customers" in msg["Subject"] and DAY.isoformat() in msg["Subject"]
    (attachment,) = list(msg.iter_attachments())
    async with db.read_sessionmaker() as s:
        stored = await s.scalar(
            select(ReportSnapshotFile).where(
                ReportSnapshotFile.snapshot_id == done.snapshot_id, ReportSnapshotFile.format == "xlsx"
            )
        )
    assert attachment.get_filename() == stored.filename
    assert attachment.get_content() == stored.content  # byte for byte the stored snapshot file
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert f"{settings.base_url}/reports/customers/daily?date={DAY.isoformat()}&branch={b.id}" in text
    link = re.search(r"(/report-subscriptions/unsubscribe/\S+)", text).group(1)

    app = make_app(db, settings)
    async with client_for(app) as c:
        page = await c.get(link)  # a mail scanner following the link changes nothing
        assert page.status_code == 200 and "Unsubscribe" in page.text
        async with db.read_sessionmaker() as s:
            assert (await s.get(ReportSubscription, sub.id)).status == "active"
        assert (await c.post(link)).status_code == 403  # a form without the page's token
        token = {"csrf_token": c.cookies.get("backroom_form")}
        done_page = await c.post(link, data=token)
        assert done_page.status_code == 200 and "no more" in done_page.text
        forged = await c.post(link[:-3] + "xyz", data=token)
        assert forged.status_code == 422 and "not valid" in forged.text
    async with db.read_sessionmaker() as s:
        assert (await s.get(ReportSubscription, sub.id)).status == "unsubscribed"
        ended = await s.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "report_subscription.ended", AuditEvent.entity_id == str(sub.id)
            )
        )
        assert ended.actor_id == str(user.id)
    again = await _snapshot(db, settings, b.id)
    assert again.notified == 0


async def test_only_if_data_skips_an_empty_period(sqlite_db, settings, smtp):
    db = sqlite_db
    b, user = await _people(db, with_data=False)
    await _subscribe(db, user, branch_ids=[b.id], format="csv", only_if_data=True)
    async with db.sessionmaker.begin() as s:
        other = await create_user(s, grants=[("manager", b.id)], email=f"{uniq('o')}@staff.test")
    await _subscribe(db, other, branch_ids=[b.id], format="csv", only_if_data=False)
    done = await _snapshot(db, settings, b.id)
    assert done.notified == 1
    await send_pending(db.sessionmaker, settings)
    assert _mine(smtp, user.email) == []
    (msg,) = _mine(smtp, other.email)
    assert "no activity" in msg.get_body(preferencelist=("plain",)).get_content()
    assert [a.get_content_type() for a in msg.iter_attachments()] == ["text/csv"]


async def test_a_user_may_subscribe_only_to_what_they_may_read(sqlite_db):
    db = sqlite_db
    b, manager = await _people(db, with_data=False)
    async with db.sessionmaker.begin() as s:
        elsewhere = await create_branch(s)
        clerk = await create_user(s, grants=[("clerk", b.id)])
    with pytest.raises(Forbidden):
        await _subscribe(db, manager, branch_ids=[elsewhere.id])
    with pytest.raises(Forbidden):
        await _subscribe(db, manager)  # all branches together needs every branch
    with pytest.raises(Forbidden):
        await _subscribe(db, clerk, branch_ids=[b.id])  # a clerk sees only their own shifts
    first = await _subscribe(db, manager, branch_ids=[b.id])
    assert (await _subscribe(db, manager, branch_ids=[b.id])).id == first.id  # not doubled


async def test_a_revoked_user_gets_no_more_reports(sqlite_db, settings):
    db = sqlite_db
    b, user = await _people(db)
    await _subscribe(db, user, branch_ids=[b.id])
    async with db.sessionmaker.begin() as s:
        await auth.revoke_role(s, actor=TEST_ACTOR, user_id=user.id, role="manager", branch_id=b.id)
    done = await _snapshot(db, settings, b.id)
    assert done.notified == 0
    async with db.read_sessionmaker() as s:
        queued = await s.scalar(select(Notification).where(Notification.to_user_id == user.id))
        assert queued is None
