"""Issue 15 item 6: times are stored in UTC and shown in the viewer's zone: their branch's, or
one they chose on their account page (effective on the next request)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import update

from backroom.branches.models import Branch
from tests.helpers import browser_client, create_branch, create_user, make_app, token_client


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
    await ui.post("/account/timezone", data={"csrf_token": ui.csrf, "timezone": ""})  # back to the branch's
    assert shown("America/New_York") in (await ui.get("/shifts")).text
