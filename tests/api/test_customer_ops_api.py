"""Customer operations API: search, contacts/addresses validation, merge/erase/export RBAC, timeline."""

import csv
import io

from backroom.crm import service as crm
from tests.helpers import TEST_ACTOR, create_customer, make_app, staff, token_client, uniq


async def test_search_contacts_timeline(db, settings):
    people = await staff(db, roles=("agent", "warehouse"))
    tag = uniq("tl")
    async with db.sessionmaker.begin() as s:
        c = await create_customer(s, branch=people["branch"], name=f"Timeline {tag}", tags=["vip"])
        await crm.log_interaction(
            s,
            actor=TEST_ACTOR,
            customer_id=c.id,
            channel="note",
            direction="internal",
            subject="Prefers email",
        )
    app = make_app(db, settings)
    agent = await token_client(app, db, people["agent"])
    r = await agent.get("/api/v1/customers/search", params={"q": tag})
    assert [i["id"] for i in r.json()["items"]] == [c.id]
    assert [
        i["id"]
        for i in (await agent.get("/api/v1/customers/search", params={"q": tag, "tag": "vip"})).json()[
            "items"
        ]
    ] == [c.id]
    bad = await agent.post(
        f"/api/v1/customers/{c.id}/addresses", json={"line1": "1 Main", "city": "X", "country": "usa"}
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "country"
    ok = await agent.post(
        f"/api/v1/customers/{c.id}/contacts", json={"name": "Ann", "email": "ann@example.com"}
    )
    assert ok.status_code == 201
    tl = (await agent.get(f"/api/v1/customers/{c.id}/timeline")).json()["items"]
    assert {"audit", "interaction"} <= {t["kind"] for t in tl}
    assert any(t["title"].startswith("Note (internal): Prefers email") for t in tl)
    assert tl == sorted(tl, key=lambda t: t["at"], reverse=True)
    wh = await token_client(app, db, people["warehouse"])
    assert (await wh.post(f"/api/v1/customers/{c.id}/contacts", json={"name": "x"})).status_code == 403


async def test_merge_erase_export_permissions(db, settings):
    people = await staff(db, roles=("agent", "manager", "supervisor"))
    async with db.sessionmaker.begin() as s:
        a = await create_customer(s, branch=people["branch"])
        b = await create_customer(s, branch=people["branch"])
    app = make_app(db, settings)
    agent, manager, sup = [await token_client(app, db, people[r]) for r in ("agent", "manager", "supervisor")]
    assert (
        await agent.post(f"/api/v1/customers/{a.id}/merge", json={"survivor_id": b.id})
    ).status_code == 403
    assert (
        await manager.post(f"/api/v1/customers/{a.id}/merge", json={"survivor_id": a.id})
    ).status_code == 409  # a customer merged into itself: refused (backroom.errors.Refused)
    # Four-eyes: the manager only asks; nothing changes until another approves.
    r = await manager.post(f"/api/v1/customers/{a.id}/merge", json={"survivor_id": b.id})
    assert r.status_code == 202 and (r.json()["kind"], r.json()["status"]) == ("customer_merge", "pending")
    merge_id = r.json()["id"]
    assert (await manager.get(f"/api/v1/customers/{a.id}")).json()["status"] == "active"
    assert (
        await manager.post(f"/api/v1/customers/{a.id}/merge", json={"survivor_id": b.id})
    ).status_code == 409  # one pending merge request per customer
    assert (
        await manager.post(f"/api/v1/customers/{b.id}/erase", json={"reason": "asked"})
    ).status_code == 422
    r = await manager.post(f"/api/v1/customers/{b.id}/erase", json={"reason": "asked", "confirm": True})
    assert r.status_code == 202 and r.json()["kind"] == "customer_erasure"
    assert (await manager.get(f"/api/v1/customers/{b.id}")).json()["name"] == b.name
    await approve_gated(db, merge_id)
    assert (await agent.get("/api/v1/customers/export.csv")).status_code == 403
    r = await sup.get("/api/v1/customers/export.csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][:3] == ["id", "kind", "name"]
    ids = {row[0] for row in rows[1:]}
    assert str(b.id) in ids and str(a.id) not in ids  # merged records are not exported


async def approve_gated(db, action_id):
    """What FourEyesWorkflow's activity does once a second manager approved (tests/workflows
    proves the gate itself)."""
    from backroom.audit.context import Actor
    from backroom.controls import apply
    from backroom.controls.flow import FourEyesDecision

    async with db.sessionmaker.begin() as s:
        status = await apply.settle(
            s, actor=Actor.system("test"), decision=FourEyesDecision(action_id=action_id, status="approved")
        )
    assert status == "applied"


async def test_create_refuses_likely_duplicate_unless_allowed(db, settings):
    people = await staff(db, roles=("clerk",))
    app = make_app(db, settings)
    clerk = await token_client(app, db, people["clerk"])
    email = f"{uniq()}@example.com"
    body = {"name": f"Dup {uniq()}", "email": email, "home_branch_id": people["branch"].id}
    first = await clerk.post("/api/v1/customers", json=body)
    assert first.status_code == 201
    again = await clerk.post(
        "/api/v1/customers", json={**body, "name": "Someone Else", "email": email.upper()}
    )
    assert again.status_code == 409 and again.json()["code"] == "duplicate_customer"
    assert [c["id"] for c in again.json()["candidates"]] == [first.json()["id"]]
    forced = await clerk.post("/api/v1/customers", json={**body, "allow_duplicate": True})
    assert forced.status_code == 201 and forced.json()["id"] != first.json()["id"]


async def test_customer_page_merge_and_erase_forms(db, settings):
    from tests.helpers import browser_client

    people = await staff(db, roles=("manager", "agent"))
    async with db.sessionmaker.begin() as s:
        a = await create_customer(s, branch=people["branch"], name=f"Loser {uniq()}")
        b = await create_customer(s, branch=people["branch"], name=f"Keeper {uniq()}")
    app = make_app(db, settings)
    agent = await browser_client(app, people["agent"].username)
    page = (await agent.get(f"/customers/{a.id}")).text
    assert 'id="timeline"' in page and 'id="merge"' not in page  # agents may not merge
    mgr = await browser_client(app, people["manager"].username)
    assert 'id="merge"' in (await mgr.get(f"/customers/{a.id}")).text
    r = await mgr.post(f"/customers/{a.id}/merge", data={"csrf_token": mgr.csrf, "survivor_id": str(b.id)})
    assert r.headers["location"].startswith(f"/customers/{a.id}") and "approval" in r.headers["location"]
    r = await mgr.post(f"/customers/{b.id}/erase", data={"csrf_token": mgr.csrf, "reason": "request"})
    assert "Not%20erased" in r.headers["location"]  # the confirmation box was not ticked
    r = await mgr.post(
        f"/customers/{b.id}/erase", data={"csrf_token": mgr.csrf, "reason": "request", "confirm": "true"}
    )
    assert "approval" in r.headers["location"]
    assert b.name in (await mgr.get(f"/customers/{b.id}")).text  # not erased until another approves


async def test_profile_edit_api_and_page(db, settings):
    from tests.helpers import browser_client

    people = await staff(db, roles=("clerk", "warehouse"))
    async with db.sessionmaker.begin() as s:
        c = await create_customer(s, branch=people["branch"], name=f"Edit {uniq()}")
    app = make_app(db, settings)
    clerk = await token_client(app, db, people["clerk"])
    r = await clerk.patch(
        f"/api/v1/customers/{c.id}",
        json={"tags": ["VIP", "b2b"], "consent_sms": True, "notes": "Prefers mornings"},
    )
    assert r.status_code == 200 and r.json()["tags"] == ["b2b", "vip"] and r.json()["consent_sms"] is True
    assert (
        await clerk.patch(f"/api/v1/customers/{c.id}", json={"credit_limit_minor": 10})
    ).status_code == 422
    assert (await clerk.patch(f"/api/v1/customers/{c.id}", json={"phone": "call me"})).status_code == 422
    wh = await token_client(app, db, people["warehouse"])
    assert (await wh.patch(f"/api/v1/customers/{c.id}", json={"notes": "x"})).status_code == 403
    ui = await browser_client(app, people["clerk"].username)
    r = await ui.post(
        f"/customers/{c.id}/edit",
        data={"csrf_token": ui.csrf, "name": "Renamed Person", "tags": "gold, vip", "consent_email": "true"},
    )
    assert r.status_code == 303
    page = (await ui.get(f"/customers/{c.id}")).text
    assert "Renamed Person" in page and "gold" in page
    bad = await ui.post(f"/customers/{c.id}/edit", data={"csrf_token": ui.csrf, "name": ""})
    assert bad.status_code == 422
