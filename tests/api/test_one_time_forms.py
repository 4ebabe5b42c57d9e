"""Issue 15 item 5: a form sent twice (double click on a slow link, Back and send again) acts
once; the repeat gets the first submission's result page."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import func, select

from backroom.complaints.models import Complaint
from tests.helpers import browser_client, create_customer, make_app, staff


def _key(page: str) -> str:
    return re.search(r'name="submission_key" value="([0-9a-f]{32})"', page).group(1)


async def _complaints(db, customer_id: int) -> int:
    async with db.read_sessionmaker() as s:
        return await s.scalar(
            select(func.count()).select_from(Complaint).where(Complaint.customer_id == customer_id)
        )


async def test_a_complaint_form_sent_twice_creates_one_complaint(db, settings):
    people = await staff(db, roles=("agent",))
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
    app = make_app(db, settings)
    agent = await browser_client(app, people["agent"].username)
    form = await agent.get("/complaints/new", params={"customer_id": cust.id})
    data = {
        "csrf_token": agent.csrf,
        "submission_key": _key(form.text),
        "customer_id": str(cust.id),
        "channel": "phone",
        "category": "damaged",
        "severity": "medium",
        "description": "The jar arrived cracked.",
    }
    first = await agent.post("/complaints/new", data=data)
    again = await agent.post("/complaints/new", data=data)  # Back, then send again
    assert first.status_code == again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert await _complaints(db, cust.id) == 1
    # A double click: both arrive together; still one complaint, both land on it.
    form = await agent.get("/complaints/new", params={"customer_id": cust.id})
    twice = {**data, "submission_key": _key(form.text), "description": "Second parcel: lid missing."}
    a, b = await asyncio.gather(
        agent.post("/complaints/new", data=twice), agent.post("/complaints/new", data=twice)
    )
    assert a.status_code == b.status_code == 303 and a.headers["location"] == b.headers["location"]
    assert await _complaints(db, cust.id) == 2
    page = await agent.get(a.headers["location"])
    assert "lid missing" in page.text


async def test_a_refused_form_can_be_corrected_and_sent_again(db, settings):
    people = await staff(db, roles=("agent",))
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
    app = make_app(db, settings)
    agent = await browser_client(app, people["agent"].username)
    form = await agent.get("/complaints/new", params={"customer_id": cust.id})
    data = {
        "csrf_token": agent.csrf,
        "submission_key": _key(form.text),
        "customer_id": str(cust.id),
        "channel": "phone",
        "category": "",
        "severity": "medium",
        "description": "Late.",
    }
    refused = await agent.post("/complaints/new", data=data)
    assert refused.status_code == 422
    fixed = await agent.post("/complaints/new", data={**data, "category": "late"})
    assert fixed.status_code == 303 and await _complaints(db, cust.id) == 1


def test_every_staff_form_that_changes_state_carries_a_submission_key():
    from pathlib import Path

    missing = []
    for path in (Path(__file__).resolve().parents[2] / "api" / "templates").rglob("*.html"):
        for form in re.findall(r"<form[^>]*method=\"post\".*?</form>", path.read_text(), re.S):
            # Signing in and out act on the browser's own session, not on a record.
            if not re.search(r'action="/log(in|out)"', form) and "submission_key" not in form:
                missing.append(f"{path.name}: {form[:80]}")
    assert missing == []
