"""Cashier shifts through the API and the page; the open shift shows in the header."""

from __future__ import annotations

from tests.helpers import browser_client, create_branch, create_user, make_app, token_client


async def test_open_and_close_a_shift_through_the_api(db, settings):
    async with db.sessionmaker.begin() as s:
        b1, b2 = await create_branch(s), await create_branch(s)
        clerk = await create_user(s, grants=[("clerk", b1.id)])
        warehouse = await create_user(s, grants=[("warehouse", b1.id)])
    app = make_app(db, settings)
    c = await token_client(app, db, clerk)
    resp = await c.post("/api/v1/shifts", json={"branch_id": b1.id, "opening_float_minor": 15000})
    assert resp.status_code == 201, resp.text
    shift = resp.json()
    assert shift["status"] == "open" and shift["currency"] == "USD"
    again = await c.post("/api/v1/shifts", json={"branch_id": b1.id})
    assert again.status_code == 409
    # Only where the clerk may take payments.
    assert (await c.post("/api/v1/shifts", json={"branch_id": b2.id})).status_code == 403
    assert (
        await c.post("/api/v1/shifts", json={"branch_id": b1.id, "opening_float_minor": -1})
    ).status_code == 422

    resp = await c.post(
        f"/api/v1/shifts/{shift['id']}/close", json={"closing_count_minor": 15250, "note": "ok"}
    )
    assert resp.json()["status"] == "closed" and resp.json()["closing_count_minor"] == 15250
    assert (
        await c.post(f"/api/v1/shifts/{shift['id']}/close", json={"closing_count_minor": 1})
    ).status_code == 409
    assert next(s["id"] for s in (await c.get("/api/v1/shifts")).json()["items"]) == shift["id"]

    w = await token_client(app, db, warehouse)
    assert (await w.post("/api/v1/shifts", json={"branch_id": b1.id})).status_code == 403


async def test_shift_page_opens_a_shift_that_shows_in_the_header(db, settings):
    async with db.sessionmaker.begin() as s:
        b1 = await create_branch(s)
        clerk = await create_user(s, grants=[("clerk", b1.id)])
    app = make_app(db, settings)
    c = await browser_client(app, clerk.username)
    bad = await c.post(
        "/shifts/open", data={"csrf_token": c.csrf, "branch_id": str(b1.id), "opening_float": "12.345"}
    )
    assert bad.status_code == 422 and "Enter an amount" in bad.text
    resp = await c.post(
        "/shifts/open", data={"csrf_token": c.csrf, "branch_id": str(b1.id), "opening_float": "150.00"}
    )
    assert resp.status_code == 303
    page = await c.get("/shifts")
    shift_id = int(page.text.split("Shift #")[1].split(" ")[0])
    assert f"shift #{shift_id}" in page.text and "150.00 USD" in page.text
    resp = await c.post(f"/shifts/{shift_id}/close", data={"csrf_token": c.csrf, "closing_count": "149.50"})
    assert resp.status_code == 303
    home = await c.get("/")
    assert f"shift #{shift_id}" not in home.text
