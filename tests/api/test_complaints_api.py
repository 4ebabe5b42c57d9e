"""Complaints API: validation, RBAC by role and branch, SLA in responses, attachments.
Workflows start on the dev server (no worker: the API's part ends at the start)."""

from sqlalchemy import select

from backroom.audit.models import AuditEvent
from tests.helpers import create_customer, make_app, staff, token_client


async def _setup(db, settings, dev_env):
    people = await staff(db, roles=("agent", "clerk", "warehouse", "supervisor"))
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
    app = make_app(db, settings, temporal_client=dev_env.client)
    return people, cust, app


BODY = {"channel": "phone", "category": "damaged", "severity": "high", "description": "The lid was cracked"}


async def test_agent_logs_complaint_with_sla(db, settings, dev_env):
    people, cust, app = await _setup(db, settings, dev_env)
    agent = await token_client(app, db, people["agent"])
    r = await agent.post("/api/v1/complaints", json={**BODY, "customer_id": cust.id, "sku": "LID-1"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["sla"]["status"] == "on_track" and body["level"] == "agent" and body["order_id"] is None
    assert body["workflow_id"] == f"complaint-{body['id']}"
    desc = await dev_env.client.get_workflow_handle(body["workflow_id"]).describe()
    assert desc.status.name == "RUNNING"
    q = await agent.get("/api/v1/complaints/queue")
    assert any(c["id"] == body["id"] for c in q.json()["items"])
    async with db.sessionmaker() as s:
        assert await s.scalar(
            select(AuditEvent.id).where(
                AuditEvent.action == "complaint.log", AuditEvent.entity_id == str(body["id"])
            )
        )


async def test_validation_and_rbac(db, settings, dev_env):
    people, cust, app = await _setup(db, settings, dev_env)
    agent = await token_client(app, db, people["agent"])
    r = await agent.post("/api/v1/complaints", json={**BODY, "customer_id": cust.id, "severity": "urgent"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "severity"
    r = await agent.post("/api/v1/complaints", json={**BODY, "customer_id": cust.id, "extra": 1})
    assert r.status_code == 422
    r = await agent.post(
        "/api/v1/complaints", json={**BODY, "customer_id": 9 * 10**17}
    )  # past every test id sequence
    assert r.status_code == 404
    warehouse = await token_client(app, db, people["warehouse"])
    assert (
        await warehouse.post("/api/v1/complaints", json={**BODY, "customer_id": cust.id})
    ).status_code == 403
    # A clerk may log but not update (reply/resolve).
    clerk = await token_client(app, db, people["clerk"])
    r = await clerk.post("/api/v1/complaints", json={**BODY, "customer_id": cust.id})
    assert r.status_code == 201
    cid = r.json()["id"]
    assert (await clerk.post(f"/api/v1/complaints/{cid}/reply", json={"message": "hi"})).status_code == 403
    # Another branch's agent cannot see it.
    other = await staff(db, roles=("agent",))
    stranger = await token_client(app, db, other["agent"])
    assert (await stranger.get(f"/api/v1/complaints/{cid}")).status_code == 403
    r = await agent.post(
        f"/api/v1/complaints/{cid}/resolve", json={"outcome": "Replaced", "compensation": "refund"}
    )
    assert r.status_code == 422  # a refund needs an amount


async def test_attachment_limits(db, settings, dev_env):
    people, cust, app = await _setup(db, settings, dev_env)
    settings.attachment_max_bytes = 1000
    agent = await token_client(app, db, people["agent"])
    cid = (await agent.post("/api/v1/complaints", json={**BODY, "customer_id": cust.id})).json()["id"]
    url = f"/api/v1/complaints/{cid}/attachments"
    ok = await agent.post(url, files={"file": ("photo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100, "image/png")})
    assert ok.status_code == 201, ok.text
    assert (settings.var_dir / "attachments" / str(cid)).is_dir()
    big = await agent.post(url, files={"file": ("big.txt", b"a" * 1001, "text/plain")})
    assert big.status_code == 413 and big.json()["code"] == "attachment_rejected"
    exe = await agent.post(url, files={"file": ("run.exe", b"MZ....", "application/octet-stream")})
    assert exe.status_code == 409  # a type the rules refuse (backroom.errors.Refused)
    fake = await agent.post(url, files={"file": ("fake.pdf", b"not a pdf", "application/pdf")})
    assert fake.status_code == 409
    detail = (await agent.get(f"/api/v1/complaints/{cid}")).json()
    assert [a["filename"] for a in detail["attachments"]] == ["photo.png"]
