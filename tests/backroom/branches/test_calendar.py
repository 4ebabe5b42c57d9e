"""Branch working calendars: set through the API (audited, refused in words), and the SLA due
times of complaints and after-sales cases counted in the branch's working time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from backroom.aftersales import service as aftersales
from backroom.aftersales.schemas import CaseCreate
from backroom.audit.models import AuditEvent
from backroom.branches import service as branches
from backroom.complaints import service as complaints
from backroom.db.base import utcnow
from tests.helpers import (
    TEST_ACTOR,
    browser_client,
    create_branch,
    create_customer,
    create_user,
    make_app,
    token_client,
    warranted_product,
)

SLA = {"high": (60, 240)}


def _opens_in_two_days() -> tuple[dict[int, tuple[int, int]], datetime]:
    """Hours open only on the weekday two days from now (all day, UTC): until then no working
    time passes. Returns (hours, the moment it opens)."""
    day = (utcnow() + timedelta(days=2)).date()
    return {day.weekday(): (0, 24 * 60)}, datetime.combine(day, time(), UTC)


async def test_complaint_deadlines_count_working_time_and_resume_by_it(db, settings):
    hours, opens = _opens_in_two_days()
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        await branches.set_calendar(s, actor=TEST_ACTOR, branch_id=b.id, hours=hours, holidays={})
        cust = await create_customer(s, branch=b)
        c = await complaints.log_complaint(
            s,
            actor=TEST_ACTOR,
            customer_id=cust.id,
            channel="phone",
            category="damaged",
            severity="high",
            description="Lid",
            sla=SLA,
        )
        assert c.first_response_due_at == opens + timedelta(minutes=60)
        assert c.resolution_due_at == opens + timedelta(minutes=240)
        # While the branch is closed none of the clock is used, however late it is.
        (row, info), *_ = await complaints.queue(s, branch_ids={b.id}, now=opens - timedelta(hours=1))
        assert row.id == c.id and info.used == 0.0 and info.status == "on_track"
        await complaints.await_customer(s, actor=TEST_ACTOR, complaint_id=c.id, note="photo?")
        await complaints.customer_replied(s, actor=TEST_ACTOR, complaint_id=c.id)
        assert c.resolution_due_at == opens + timedelta(minutes=240)  # no working time was waited
        start = await s.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "branch.calendar", AuditEvent.entity_id == str(b.id)
            )
        )
        assert start is not None and start.branch_id == b.id


async def test_a_repair_is_due_after_its_working_days(db, settings):
    hours = dict.fromkeys(range(5), (9 * 60, 17 * 60))
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s, timezone="Europe/Berlin")
        await branches.set_calendar(s, actor=TEST_ACTOR, branch_id=b.id, hours=hours, holidays={})
        cust = await create_customer(s, branch=b)
        product = await warranted_product(s, months=0)
        settings.aftersales_sla = {}
        c = await aftersales.open_case(
            s,
            actor=TEST_ACTOR,
            settings=settings,
            data=CaseCreate(kind="repair", reason="Cracked", customer_id=cust.id, product_id=product.id),
        )
        cal = await branches.work_calendar(s, b.id)
        assert c.sla_minutes == 10 * 8 * 60  # ten working days of eight hours
        assert cal.between(c.created_at, c.due_at) == timedelta(hours=80)
        assert c.due_at - c.created_at >= timedelta(days=11)  # two weekends at least
        assert aftersales.workflow_input(c, settings, cal).calendar == cal


async def test_calendar_api_sets_reads_and_refuses_in_words(db, settings):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s, timezone="Europe/Berlin")
        admin = await create_user(s, grants=[("admin", b.id)])
        manager = await create_user(s, grants=[("manager", b.id)])
    app = make_app(db, settings)
    api = await token_client(app, db, admin)
    body = {
        "hours": [{"weekday": d, "opens": "09:00", "closes": "17:30"} for d in range(5)],
        "holidays": [{"day": "2026-12-25", "name": "Christmas Day"}],
    }
    r = await api.put(f"/api/v1/branches/{b.id}/calendar", json=body)
    assert r.status_code == 200, r.text
    got = (await api.get(f"/api/v1/branches/{b.id}/calendar")).json()
    assert got["timezone"] == "Europe/Berlin" and not got["around_the_clock"]
    assert got["hours"][0] == {"weekday": 0, "opens": "09:00", "closes": "17:30"}
    assert got["holidays"] == [{"day": "2026-12-25", "name": "Christmas Day"}]
    bad = await api.put(
        f"/api/v1/branches/{b.id}/calendar",
        json={"hours": [{"weekday": 1, "opens": "18:00", "closes": "09:00"}]},
    )
    assert bad.status_code == 409 and "opens before it closes" in bad.text
    twice = await api.put(
        f"/api/v1/branches/{b.id}/calendar",
        json={"hours": [{"weekday": 1, "opens": "08:00", "closes": "09:00"}] * 2},
    )
    assert twice.status_code == 409 and "each weekday once" in twice.text
    other = await token_client(app, db, manager)
    assert (await other.put(f"/api/v1/branches/{b.id}/calendar", json=body)).status_code == 403
    assert (await other.get(f"/api/v1/branches/{b.id}/calendar")).status_code == 200


async def test_working_hours_page_saves_what_the_api_reads(db, settings):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s, timezone="Europe/Berlin")
        admin = await create_user(s, grants=[("admin", b.id)])
    settings.cookie_secure = False
    app = make_app(db, settings)
    ui = await browser_client(app, admin.username)
    listing = await ui.get("/admin/calendars")
    assert listing.status_code == 200 and b.name in listing.text and "around the clock" in listing.text
    form = {
        "csrf_token": ui.csrf,
        "opens-0": "08:30",
        "closes-0": "16:00",
        "holidays": "2026-12-24 Christmas Eve\n",
    }
    r = await ui.post(f"/admin/branches/{b.id}/calendar", data=form)
    assert r.status_code == 303, r.text
    page = (await ui.get(f"/admin/branches/{b.id}/calendar")).text
    assert 'value="08:30"' in page and "2026-12-24 Christmas Eve" in page
    async with db.read_sessionmaker() as s:
        cal = await branches.work_calendar(s, b.id)
    assert cal.hours == {0: (510, 960)} and [d.isoformat() for d in cal.holidays] == ["2026-12-24"]
    bad = await ui.post(f"/admin/branches/{b.id}/calendar", data={**form, "closes-0": "4pm"})
    assert bad.status_code in (400, 422) and "like 09:00" in bad.text
