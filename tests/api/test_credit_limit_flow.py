"""The credit-limit process end to end through the API and the staff UI, on the dev server."""

import asyncio
import re

from sqlalchemy import func, select

from backroom.approvals.models import ApprovalRequest
from backroom.audit.models import AuditEvent
from backroom.audit.service import verify
from backroom.customers.models import Customer
from tests.helpers import (
    browser_client,
    create_branch,
    create_user,
    make_app,
    token_client,
    withdraw_limit_request,
)
from worker.registry import Deps, build_worker


async def _setup(db):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        other = await create_branch(s)
        clerk = await create_user(s, grants=[("clerk", b.id)], full_name="Cleo Clerk")
        fin = await create_user(s, grants=[("finance", b.id)], full_name="Fin Officer")
        fin_elsewhere = await create_user(s, grants=[("finance", other.id)])
    return b, clerk, fin, fin_elsewhere


async def _inbox_ids(client):
    return [r["id"] for r in (await client.get("/api/v1/approvals")).json()["items"]]


async def test_request_and_approve_through_the_api(dev_env, db, settings, task_queue):
    settings.task_queue = task_queue
    b, clerk, fin, fin_elsewhere = await _setup(db)
    app = make_app(db, settings, temporal_client=dev_env.client)
    clerk_api = await token_client(app, db, clerk)
    fin_api = await token_client(app, db, fin)
    other_api = await token_client(app, db, fin_elsewhere)
    async with build_worker(
        dev_env.client, Deps(settings=settings, sessionmaker=db.sessionmaker), task_queue=task_queue
    ):
        r = await clerk_api.post(
            "/api/v1/customers",
            json={"name": "Bo Builder", "home_branch_id": b.id, "email": "bo@example.com"},
        )
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        r = await clerk_api.post(
            f"/api/v1/customers/{cid}/credit-limit-requests",
            json={"requested_limit_minor": 250_000, "reason": "Seasonal stock"},
        )
        assert r.status_code == 202, r.text
        req_id = r.json()["id"]
        assert r.json()["workflow_id"] == f"credit-limit-{req_id}"
        # A second request while one is pending is refused with a stable code.
        again = await clerk_api.post(
            f"/api/v1/customers/{cid}/credit-limit-requests",
            json={"requested_limit_minor": 300_000, "reason": "More"},
        )
        assert again.status_code == 409 and again.json()["code"] == "credit_limit_change_pending"
        # The inbox row appears once the workflow's first activity ran (well under a second).
        for _ in range(100):
            ids = await _inbox_ids(fin_api)
            if ids:
                break
            await asyncio.sleep(0.05)
        assert len(ids) == 1
        approval_id = ids[0]
        assert await _inbox_ids(other_api) == []  # finance of another branch sees nothing
        # The clerk cannot approve; finance of another branch cannot either.
        assert (
            await clerk_api.post(f"/api/v1/approvals/{approval_id}/decision", json={"approve": True})
        ).status_code == 403
        assert (
            await other_api.post(f"/api/v1/approvals/{approval_id}/decision", json={"approve": True})
        ).status_code == 403
        r = await fin_api.post(f"/api/v1/approvals/{approval_id}/decision", json={"approve": True})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "approved"
        # The new limit committed with the decision: it shows on the next read, before the
        # workflow has been told.
        assert (await clerk_api.get(f"/api/v1/credit-limit-requests/{req_id}")).json()["status"] == "applied"
        assert (await clerk_api.get(f"/api/v1/customers/{cid}")).json()["credit_limit_minor"] == 250_000
        # Repeating the decision is refused.
        r = await fin_api.post(f"/api/v1/approvals/{approval_id}/decision", json={"approve": True})
        assert r.status_code == 409
        assert (await dev_env.client.get_workflow_handle(f"credit-limit-{req_id}").result())[
            "status"
        ] == "applied"
    async with db.read_sessionmaker() as s:
        assert (await s.get(Customer, cid)).credit_limit_minor == 250_000
        assert (await verify(s)).ok


async def test_the_tour_in_the_staff_ui(dev_env, sqlite_db, settings, task_queue):
    """Sign in as a clerk, request a limit on the customer page; as finance, approve in the inbox."""
    db = sqlite_db
    settings.task_queue = task_queue
    b, clerk, fin, _ = await _setup(db)
    app = make_app(db, settings, temporal_client=dev_env.client)
    async with build_worker(
        dev_env.client, Deps(settings=settings, sessionmaker=db.sessionmaker), task_queue=task_queue
    ):
        ui = await browser_client(app, clerk.username)
        r = await ui.post(
            "/customers", data={"csrf_token": ui.csrf, "name": "Cy Corner", "home_branch_id": b.id}
        )
        assert r.status_code == 303
        page_url = r.headers["location"].split("?")[0]
        bad = await ui.post(
            f"{page_url}/credit-limit",
            data={"csrf_token": ui.csrf, "requested_limit": "12.345", "reason": "x"},
        )
        assert bad.status_code == 422 and "Enter an amount" in bad.text
        r = await ui.post(
            f"{page_url}/credit-limit",
            data={"csrf_token": ui.csrf, "requested_limit": "1,500.00", "reason": "Regular buyer"},
        )
        assert r.status_code == 303
        page = await ui.get(page_url)
        assert "pending" in page.text and "1,500.00 USD" in page.text
        fui = await browser_client(app, fin.username)
        for _ in range(100):
            inbox = await fui.get("/inbox")
            if "Cy Corner" in inbox.text:
                break
            await asyncio.sleep(0.05)
        assert "Credit limit for Cy Corner" in inbox.text
        approval_id = re.search(r'action="/inbox/(\d+)/decision"', inbox.text).group(1)
        r = await fui.post(
            f"/inbox/{approval_id}/decision", data={"csrf_token": fui.csrf, "decision": "approve"}
        )
        assert r.status_code == 303 and "approved" in r.headers["location"]
        page = await ui.get(page_url)  # applied by the decision itself: no waiting for the workflow
        assert 'id="credit-limit">1,500.00 USD' in page.text
        assert "credit_limit.apply" in page.text  # the audit trail on the record's page


async def test_a_refused_decision_in_the_inbox_writes_nothing(dev_env, sqlite_db, settings, task_queue):
    """The limit is settled in the decision's transaction; when it cannot be (the request was
    closed meanwhile), the inbox page says why and the decision is rolled back with it."""
    db = sqlite_db
    settings.task_queue = task_queue
    b, clerk, fin, _ = await _setup(db)
    app = make_app(db, settings, temporal_client=dev_env.client)
    clerk_api = await token_client(app, db, clerk)
    async with build_worker(
        dev_env.client, Deps(settings=settings, sessionmaker=db.sessionmaker), task_queue=task_queue
    ):
        cid = (
            await clerk_api.post("/api/v1/customers", json={"name": "Di Dent", "home_branch_id": b.id})
        ).json()["id"]
        r = await clerk_api.post(
            f"/api/v1/customers/{cid}/credit-limit-requests",
            json={"requested_limit_minor": 90_000, "reason": "New shop"},
        )
        req_id = r.json()["id"]
        fui = await browser_client(app, fin.username)
        found = []
        for _ in range(100):
            found = re.findall(r'action="/inbox/(\d+)/decision"', (await fui.get("/inbox")).text)
            if found:
                break
            await asyncio.sleep(0.05)
        approval_id = int(found[0])
        await withdraw_limit_request(db, req_id)
        async with db.read_sessionmaker() as s:
            events = await s.scalar(select(func.count()).select_from(AuditEvent))
        r = await fui.post(
            f"/inbox/{approval_id}/decision", data={"csrf_token": fui.csrf, "decision": "approve"}
        )
        assert r.status_code == 303 and "not%20pending" in r.headers["location"], r.headers
        async with db.read_sessionmaker() as s:
            assert (await s.get(ApprovalRequest, approval_id)).status == "pending"
            assert await s.scalar(select(func.count()).select_from(AuditEvent)) == events
            assert (await s.get(Customer, cid)).credit_limit_minor == 0
        await dev_env.client.get_workflow_handle(f"credit-limit-{req_id}").terminate("test over")
