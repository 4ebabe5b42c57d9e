"""Issue 15 item 6: times are stored in UTC and shown in the viewer's zone: their branch's, or
one they chose on their account page (effective on the next request)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from backroom.branches.models import Branch
from backroom.crm.models import FollowUpTask
from tests.helpers import browser_client, create_branch, create_customer, create_user, make_app, token_client


async def test_times_show_in_the_branch_zone_or_the_users_choice(db, settings):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        await s.execute(update(Branch).where(Branch.id == b.id).values(timezone="America/New_York"))
        clerk = await create_user(s, grants=[("clerk", b.id)])
    app = make_app(db, settings)
    shift = (
        await (await token_client(app, db, clerk)).post("/api/v1/shifts", json={"branch_id": b.id})
    ).json()
    opened = datetime.fromisoformat(shift["opened_at"])
    ui = await browser_client(app, clerk.username)

    def shown(zone: str) -> str:
        return opened.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")

    page = (await ui.get("/shifts")).text
    assert shown("America/New_York") in page and opened.strftime("%H:%M UTC") not in page
    assert "America/New_York" in (await ui.get("/account/timezone")).text

    bad = await ui.post("/account/timezone", data={"csrf_token": ui.csrf, "timezone": "Mars/Olympus"})
    assert bad.status_code == 422 and "Choose a time zone" in bad.text
    ok = await ui.post("/account/timezone", data={"csrf_token": ui.csrf, "timezone": "Europe/Berlin"})
    assert ok.status_code == 303
    assert shown("Europe/Berlin") in (await ui.get("/shifts")).text
    await ui.post(
        "/account/timezone", data={"csrf_token": ui.csrf, "timezone": "branch"}
    )  # back to the branch's
    assert shown("America/New_York") in (await ui.get("/shifts")).text


async def test_a_follow_up_due_time_is_read_in_the_users_zone(db, settings):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        await s.execute(update(Branch).where(Branch.id == b.id).values(timezone="America/New_York"))
        agent = await create_user(s, grants=[("agent", b.id)])
        cust = await create_customer(s, branch=b)
    ui = await browser_client(make_app(db, settings), agent.username)
    assert "Due (America/New_York)" in (await ui.get(f"/customers/{cust.id}")).text
    r = await ui.post(
        f"/customers/{cust.id}/tasks/new",
        data={"csrf_token": ui.csrf, "title": "Call back", "due_at": "2030-01-07T09:00"},
    )
    assert r.status_code == 303 and "Follow-up" in r.headers["location"]
    async with db.read_sessionmaker() as s:
        task = await s.scalar(select(FollowUpTask).where(FollowUpTask.customer_id == cust.id))
    assert task.due_at.astimezone(UTC) == datetime(2030, 1, 7, 14, 0, tzinfo=UTC)  # 09:00 EST
