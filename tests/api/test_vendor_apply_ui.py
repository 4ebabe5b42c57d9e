"""Issue 13, onboarding from the storefront: a would-be vendor applies on /shop/sell without an
account; the application waits for a manager in the approval gate like a staff entry, the
applicant gets an e-mail, mistakes are named field by field, and robots' posts are dropped."""

from __future__ import annotations

import re

from sqlalchemy import select

from backroom.audit.models import AuditEvent
from backroom.notifications.models import Notification
from backroom.starts.models import WorkflowStart
from backroom.vendors.models import Vendor
from tests.helpers import client_for, create_branch, make_app, uniq


async def _form(client) -> dict:
    page = await client.get("/shop/sell")
    assert page.status_code == 200 and "Sell with us" in page.text
    return {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]}


async def _vendors(db, name: str) -> list[Vendor]:
    async with db.read_sessionmaker() as s:
        return (await s.execute(select(Vendor).where(Vendor.name == name))).scalars().all()


async def test_a_visitor_applies_and_a_manager_is_asked(sqlite_db, settings):
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        await create_branch(s)
    app = make_app(db, settings)
    visitor = client_for(app)
    name = uniq("Loom House ")
    email = f"{uniq('weave')}@loom.example.com"
    form = {
        **await _form(visitor),
        "name": name,
        "legal_name": "Loom House Ltd",
        "contact_name": "Wanda Weaver",
        "contact_email": email,
        "tax_id": "GB-123",
        "categories": "Textiles, Home",
        "payout_method": "bank",
        "bank_account_name": "Loom House Ltd",
    }
    r = await visitor.post("/shop/sell", data=form)
    assert r.status_code == 422 and "IBAN" in r.text and 'value="Loom House Ltd"' in r.text
    assert await _vendors(db, name) == []
    r = await visitor.post("/shop/sell", data={**form, "bank_iban": "GB29NWBK60161331926819"})
    assert r.status_code == 303 and "received%20your%20application" in r.headers["location"]
    (vendor,) = await _vendors(db, name)
    assert (vendor.status, vendor.categories, vendor.created_by_id) == ("applied", ["Textiles", "Home"], None)
    async with db.read_sessionmaker() as s:
        start = await s.scalar(
            select(WorkflowStart).where(WorkflowStart.workflow_id == vendor.approval_workflow_id)
        )
        event = await s.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "vendor.apply", AuditEvent.entity_id == str(vendor.id)
            )
        )
        mail = await s.scalar(select(Notification).where(Notification.to_address == email))
    assert start is not None  # the approval gate's workflow is queued with the application
    assert event is not None and "storefront" in (event.actor_name or "")
    assert "GB29NWBK60161331926819" not in str(event.after)  # the IBAN is not kept in the audit
    assert mail is not None and name in mail.subject


async def test_robots_and_forged_posts_create_nothing(sqlite_db, settings):
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        await create_branch(s)
    app = make_app(db, settings)
    visitor = client_for(app)
    name = uniq("Spam Shop ")
    form = {
        **await _form(visitor),
        "name": name,
        "legal_name": "Spam Ltd",
        "contact_name": "Bot",
        "contact_email": "bot@spam.example.com",
        "tax_id": "XX-1",
        "stripe_account_id": "acct_123",
    }
    r = await visitor.post("/shop/sell", data={**form, "website": "http://spam.example.com"})
    assert r.status_code == 303
    assert await _vendors(db, name) == []
    r = await client_for(app).post("/shop/sell", data=form)  # no page, no cookie: a forged post
    assert r.status_code == 403
    assert await _vendors(db, name) == []
