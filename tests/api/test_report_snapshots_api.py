"""Report snapshots through the API: versions of a report, audited download, backfill (queued
through the outbox, audited), subscriptions; each refused outside the caller's branches."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from backroom.audit.models import AuditEvent
from backroom.reports import snapshots
from backroom.reports.flow import SnapshotAsk
from backroom.reports.periods import Edition
from backroom.starts.models import WorkflowStart
from tests.helpers import create_branch, create_customer, create_user, make_app, token_client, uniq

DAY = date(2026, 5, 5)


async def _setup(db, settings):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s, timezone="America/Chicago")
        other = await create_branch(s)
        await create_customer(s, branch=b, created_at=datetime(2026, 5, 5, 18, tzinfo=UTC))
        people = {
            role: await create_user(s, grants=[(role, b.id)], full_name=f"{role} {uniq()}")
            for role in ("auditor", "manager", "clerk")
        }
        people["outsider"] = await create_user(s, grants=[("manager", other.id)])
        people["admin"] = await create_user(s, grants=[("admin", None)])
    made = []
    for _ in range(2):
        ask = SnapshotAsk(
            function="customers", edition=Edition.DAILY, label=DAY.isoformat(), branch_id=b.id, force=True
        )
        made.append(await snapshots.produce(db.sessionmaker, ask, workflow_id=uniq("wf-"), settings=settings))
    return b, people, made


async def test_versions_and_an_audited_download(db, settings):
    b, people, made = await _setup(db, settings)
    app = make_app(db, settings)
    auditor = await token_client(app, db, people["auditor"])
    url = f"/api/v1/report-snapshots/customers/daily/{DAY.isoformat()}?branch={b.id}"
    items = (await auditor.get(url)).json()["items"]
    assert [i["version"] for i in items] == [2, 1] and items[0]["branch"] == b.name
    assert {f["format"] for f in items[0]["files"]} == {"csv", "xlsx", "pdf"}
    detail = (await auditor.get(f"/api/v1/report-snapshots/{made[0].snapshot_id}")).json()
    assert detail["body"]["function"] == "customers" and detail["body"]["period"]["label"] == DAY.isoformat()

    pdf = next(f for f in items[0]["files"] if f["format"] == "pdf")
    resp = await auditor.get(pdf["url"])
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/pdf"
    assert resp.content.startswith(b"%PDF") and resp.headers["x-content-sha256"] == pdf["sha256"]
    async with db.read_sessionmaker() as s:
        ev = await s.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "report_snapshot.exported", AuditEvent.entity_id == str(items[0]["id"])
            )
        )
    assert ev.actor_id == str(people["auditor"].id) and ev.after["format"] == "pdf"

    listed = (await auditor.get("/api/v1/report-snapshots?function=customers&edition=daily")).json()["items"]
    assert {i["id"] for i in listed} >= {m.snapshot_id for m in made}
    assert all(i["branch_id"] == b.id for i in listed)  # only the auditor's branch


async def test_snapshots_are_refused_outside_the_caller_s_branches(db, settings):
    b, people, made = await _setup(db, settings)
    app = make_app(db, settings)
    outsider = await token_client(app, db, people["outsider"])
    clerk = await token_client(app, db, people["clerk"])
    url = f"/api/v1/report-snapshots/customers/daily/{DAY.isoformat()}?branch={b.id}"
    for c in (outsider, clerk):
        assert (await c.get(url)).status_code == 403
    resp = await outsider.get(f"/api/v1/report-snapshots/{made[0].snapshot_id}/files/csv")
    assert resp.status_code == 403 and resp.json()["code"] == "forbidden"
    listed = (await outsider.get("/api/v1/report-snapshots?function=customers")).json()["items"]
    assert made[0].snapshot_id not in {i["id"] for i in listed}
    bad = await (await token_client(app, db, people["auditor"])).get(
        url.replace(DAY.isoformat(), "2026-13-01")
    )
    assert bad.status_code == 422 and "2026-11-30" in bad.json()["detail"]


async def test_backfill_queues_numbered_runs_and_needs_the_branches(db, settings):
    b, people, _ = await _setup(db, settings)
    settings.workflow_prefix = uniq("t") + "-"
    app = make_app(db, settings)
    admin = await token_client(app, db, people["admin"])
    body = {
        "date_from": "2020-12-28",
        "date_to": "2021-01-03",
        "editions": ["weekly"],
        "functions": ["customers"],
    }
    resp = await admin.post("/api/v1/reports/backfill", json=body)
    assert resp.status_code == 202, resp.text
    out = resp.json()
    assert [r["workflow_id"] for r in out["runs"]] == [
        f"{settings.workflow_prefix}report-run-weekly-2020-W53-1"
    ]
    async with db.read_sessionmaker() as s:
        row = await s.scalar(
            select(WorkflowStart).where(WorkflowStart.workflow_id == out["runs"][0]["workflow_id"])
        )
        assert row.status == "pending" and row.args["label"] == "2020-W53"

    manager = await token_client(app, db, people["manager"])
    assert (await manager.post("/api/v1/reports/backfill", json=body)).status_code == 403  # every branch
    mine = await manager.post("/api/v1/reports/backfill", json={**body, "branch_ids": [b.id]})
    assert mine.status_code == 202 and mine.json()["runs"][0]["workflow_id"].endswith("-2")
    wrong = await admin.post("/api/v1/reports/backfill", json={**body, "date_from": "2021-02-01"})
    assert wrong.status_code == 409 and "after the end" in wrong.json()["detail"]


async def test_subscriptions_through_the_api(db, settings):
    b, people, _ = await _setup(db, settings)
    app = make_app(db, settings)
    manager = await token_client(app, db, people["manager"])
    made = await manager.post(
        "/api/v1/report-subscriptions",
        json={
            "function": "orders",
            "edition": "weekly",
            "branch_ids": [b.id],
            "format": "PDF",
            "only_if_data": True,
        },
    )
    assert made.status_code == 201, made.text
    sub = made.json()
    assert (sub["format"], sub["branch_ids"], sub["status"]) == ("pdf", [b.id], "active")
    assert [s["id"] for s in (await manager.get("/api/v1/report-subscriptions")).json()["items"]] == [
        sub["id"]
    ]
    bad = await manager.post(
        "/api/v1/report-subscriptions", json={"function": "orders", "edition": "weekly", "format": "docx"}
    )
    assert bad.status_code == 422
    refused = await manager.post(
        "/api/v1/report-subscriptions", json={"function": "orders", "edition": "weekly"}
    )
    assert refused.status_code == 403  # all branches together: the manager holds one
    other = await token_client(app, db, people["auditor"])
    assert (await other.delete(f"/api/v1/report-subscriptions/{sub['id']}")).status_code == 403
    ended = await manager.delete(f"/api/v1/report-subscriptions/{sub['id']}")
    assert ended.json()["status"] == "unsubscribed"
    assert (await manager.get("/api/v1/report-subscriptions")).json()["items"] == []


async def test_pages_list_snapshots_download_and_manage_subscriptions(sqlite_db, settings):
    from tests.helpers import browser_client

    db = sqlite_db
    b, people, made = await _setup(db, settings)
    app = make_app(db, settings)
    c = await browser_client(app, people["manager"].username)
    page = await c.get("/report-snapshots?function=customers&edition=daily")
    assert page.status_code == 200 and b.name in page.text and DAY.isoformat() in page.text
    assert f"/report-snapshots/{made[1].snapshot_id}/files/xlsx" in page.text
    got = await c.get(f"/report-snapshots/{made[1].snapshot_id}/files/csv")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")

    form = await c.get("/report-subscriptions?function=orders&edition=monthly")
    assert 'value="orders" selected' in form.text and 'value="monthly" selected' in form.text
    sent = await c.post(
        "/report-subscriptions",
        data={
            "csrf_token": c.csrf,
            "function": "orders",
            "edition": "monthly",
            "branch": str(b.id),
            "format": "csv",
        },
    )
    assert sent.status_code == 303
    listed = await c.get("/report-subscriptions")
    assert "Orders and fulfilment" in listed.text and b.name in listed.text
    bad = await c.post(
        "/report-subscriptions", data={"csrf_token": c.csrf, "function": "nonsense", "edition": "monthly"}
    )
    assert bad.status_code == 422 and "Choose a report" in bad.text
    async with db.read_sessionmaker() as s:
        from backroom.reports import subscriptions

        (sub,) = await subscriptions.mine(s, user_id=people["manager"].id)
    ended = await c.post(f"/report-subscriptions/{sub.id}/unsubscribe", data={"csrf_token": c.csrf})
    assert ended.status_code == 303
    assert "You have no report subscriptions" in (await c.get("/report-subscriptions")).text
