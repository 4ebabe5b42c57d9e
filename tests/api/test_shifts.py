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


async def test_cash_in_the_drawer_and_the_shift_report(db, settings):
    """Issue 15 item 13 through the API and the pages: pay-ins and pay-outs, a large pay-out
    waiting for a manager (202), the close showing over/short, the printable report and its
    PDF; another cashier's report is not theirs to read, a manager's in the branch is."""
    settings.cash_payout_approval_over_minor = 5000
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        clerk = await create_user(s, grants=[("clerk", b.id)])
        other = await create_user(s, grants=[("clerk", b.id)])
        manager = await create_user(s, grants=[("manager", b.id)])
    app = make_app(db, settings)
    c = await token_client(app, db, clerk)
    body = {"kind": "pay_in", "amount_minor": 1000, "reason": "Change from the safe", "reference": "r1"}
    assert (await c.post("/api/v1/shifts/current/cash", json=body)).status_code == 409  # no shift yet
    shift = (await c.post("/api/v1/shifts", json={"branch_id": b.id, "opening_float_minor": 10000})).json()
    first = await c.post("/api/v1/shifts/current/cash", json=body)
    assert first.status_code == 201 and first.json()["amount_minor"] == 1000
    assert (await c.post("/api/v1/shifts/current/cash", json=body)).json()["id"] == first.json()["id"]
    big = {"kind": "pay_out", "amount_minor": 9000, "reason": "Window cleaner", "reference": "r2"}
    waits = await c.post("/api/v1/shifts/current/cash", json=big)
    assert waits.status_code == 202 and waits.json()["status"] == "pending"
    bad = await c.post("/api/v1/shifts/current/cash", json={**body, "amount_minor": 0, "reference": "r3"})
    assert bad.status_code == 422

    page = await browser_client(app, clerk.username)
    resp = await page.post(
        "/shifts/cash",
        data={
            "csrf_token": page.csrf,
            "kind": "pay_out",
            "amount": "4.50",
            "reason": "Milk for the staff room",
        },
    )
    assert resp.status_code == 303 and "4.50 USD paid out" in resp.headers["location"].replace(
        "+", " "
    ).replace("%20", " ")
    shown = await page.get("/shifts")
    assert "105.50 USD" in shown.text and "Milk for the staff room" in shown.text  # 100 + 10 - 4.50
    assert 'action="/shifts/open"' not in shown.text  # one open shift: no second offered
    resp = await page.post(
        f"/shifts/{shift['id']}/close", data={"csrf_token": page.csrf, "closing_count": "105.00"}
    )
    assert resp.status_code == 303
    report = await page.get(resp.headers["location"])
    assert "short by 0.50 USD" in report.text and "Expected cash" in report.text and "Short" in report.text
    pdf = await page.get(f"/shifts/{shift['id']}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    api = (await c.get(f"/api/v1/shifts/{shift['id']}/report")).json()
    assert (api["expected_minor"], api["counted_minor"], api["variance_minor"]) == (10550, 10500, -50)
    assert api["totals"] == {"Pay-in": 1000, "Pay-out": -450}
    assert (
        await (await token_client(app, db, other)).get(f"/api/v1/shifts/{shift['id']}/report")
    ).status_code == 404
    assert (
        await (await token_client(app, db, manager)).get(f"/api/v1/shifts/{shift['id']}/report")
    ).status_code == 200
