"""One timeline shape for after-sales cases and warranties (backroom/timeline.py): events with
a key written once, customer notices queued and noted under the same key; and one maker for a
report's sources over the same records (backroom.reports.catalog.sources)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backroom import timeline
from backroom.aftersales.reports import CLOSED, OPENED
from backroom.complaints.models import Complaint
from backroom.complaints.reports import LOGGED, RESOLVED
from backroom.notifications.models import Notification
from backroom.warranty.models import WarrantyEvent
from tests.helpers import TEST_ACTOR, registered, uniq


async def test_a_notice_is_queued_and_noted_on_the_timeline_under_one_key(db):
    key = uniq("warranty-notice-")
    async with db.sessionmaker.begin() as s:
        _b, customer, _p, w = await registered(s, left=timedelta(days=30))
        assert not await timeline.seen(s, WarrantyEvent, key)
        await timeline.notice(
            s,
            WarrantyEvent,
            owner={"warranty_id": w.id},
            key=key,
            actor=TEST_ACTOR,
            event="notice_30",
            detail="sent",
            kind="warranty.expiry_notice",
            to_customer_id=customer.id,
            branch_id=w.branch_id,
            subject="Your warranty ends",
            body="in 30 days",
        )
        assert await timeline.seen(s, WarrantyEvent, key)
        event = await s.scalar(select(WarrantyEvent).where(WarrantyEvent.key == key))
        mail = await s.scalar(select(Notification).where(Notification.dedupe_key == key))
    assert (event.warranty_id, event.kind, event.actor_name) == (w.id, "notice_30", TEST_ACTOR.name)
    assert mail.to_customer_id == customer.id and mail.subject == "Your warranty ends"


def test_sources_over_the_same_records_differ_only_where_asked():
    assert OPENED.table is CLOSED.table and OPENED.fields == CLOSED.fields and OPENED.link == CLOSED.link
    assert OPENED.where is None and CLOSED.where is not None
    assert LOGGED.user is Complaint.created_by_id and RESOLVED.user is Complaint.assignee_id
    assert LOGGED.record == RESOLVED.record == "complaint"
