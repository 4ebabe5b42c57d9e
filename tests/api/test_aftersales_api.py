"""After-sales and warranty through the API and the pages: a repair walked step by step by
the roles the brief names (workflows on the dev server with a worker), the customer's signed
quote link, validation in people's words, who may do what, and the warranty look-up."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from urllib.parse import unquote

from sqlalchemy import select

from backroom.aftersales.models import RmaCase
from backroom.audit.models import AuditEvent
from backroom.db.base import utcnow
from backroom.notifications.models import Notification
from tests.helpers import (
    browser_client,
    client_for,
    create_customer,
    eventually,
    make_app,
    staff,
    token_client,
    uniq,
    warranted_product,
)
from worker.registry import Deps, build_worker

ROLES = ("agent", "warehouse", "technician", "clerk", "vendor", "manager")


async def _setup(db, settings, dev_env, task_queue):
    settings.task_queue = task_queue  # the app's outbox starts workflows where the test worker listens
    people = await staff(db, roles=ROLES)
    async with db.sessionmaker.begin() as s:
        customer = await create_customer(s, branch=people["branch"], name=f"Rita {uniq()}")
        product = await warranted_product(s, months=0, price=15000)
    app = make_app(db, settings, temporal_client=dev_env.client)
    clients = {r: await token_client(app, db, people[r]) for r in ROLES}
    return people, customer, product, app, clients


def _worker(dev_env, db, settings, task_queue):
    return build_worker(
        dev_env.client, Deps(settings=settings, sessionmaker=db.sessionmaker), task_queue=task_queue
    )


async def _step(client, case_id, action, **kw):
    """POST a step, retrying while the workflow is still busy with its own part."""
    for _ in range(200):
        r = await client.post(f"/api/v1/aftersales/cases/{case_id}/steps", json={"action": action, **kw})
        if r.status_code != 409 or "being processed" not in r.text:
            return r
        await asyncio.sleep(0.05)
    return r


async def test_repair_walked_by_agent_warehouse_technician_and_customer_link(
    sqlite_db, settings, dev_env, task_queue
):
    db = sqlite_db
    _people, customer, product, app, c = await _setup(db, settings, dev_env, task_queue)
    async with _worker(dev_env, db, settings, task_queue):
        r = await c["agent"].post(
            "/api/v1/aftersales/cases",
            json={
                "kind": "repair",
                "reason": "Screen flickers",
                "customer_id": customer.id,
                "product_id": product.id,
            },
        )
        assert r.status_code == 201, r.text
        case = r.json()
        assert case["customer_name"] == customer.name and case["product_name"] == product.name
        assert (
            case["state"] == "requested"
            and not case["under_warranty"]
            and case["sla"]["status"] == "on_track"
        )
        cid = case["id"]
        assert (await _step(c["agent"], cid, "approve")).status_code == 200
        # The warehouse receives, but may not diagnose; the technician may not receive.
        assert (await _step(c["technician"], cid, "receive")).status_code == 403
        r = await _step(c["warehouse"], cid, "receive", note="Scratched")
        assert r.status_code == 200 and r.json()["state"] == "received"
        assert (await _step(c["warehouse"], cid, "diagnose", diagnosis="x")).status_code == 403
        r = await _step(
            c["technician"], cid, "quote", lines=[{"kind": "part", "description": "Panel", "unit_minor": 100}]
        )
        assert r.status_code == 409 and "not possible now" in r.json()["detail"]
        assert (
            await _step(c["technician"], cid, "diagnose", diagnosis="Panel cable loose")
        ).status_code == 200
        r = await _step(
            c["technician"],
            cid,
            "quote",
            lines=[
                {"kind": "part", "description": "Cable", "unit_minor": 1200},
                {"kind": "labour", "description": "Bench time", "qty": 1, "unit_minor": 3000},
            ],
        )
        assert r.status_code == 200 and r.json()["state"] == "quote_sent" and r.json()["paused"]

        async def mailed():
            async with db.read_sessionmaker() as s:
                return await s.scalar(
                    select(Notification).where(
                        Notification.kind == "rma.quote", Notification.to_customer_id == customer.id
                    )
                )

        mail = await eventually(mailed)
        path = mail.link.removeprefix(settings.base_url)
        anon = client_for(app)  # the customer: no account, no session
        page = await anon.get(path)
        assert page.status_code == 200 and "42.00 USD" in page.text and "Approve the repair" in page.text
        assert (await anon.get(path[:-3] + "xyz")).status_code == 404
        assert (await anon.post(path, data={"answer": "approve"})).status_code == 403  # no page token
        r = await anon.post(path, data={"answer": "approve", "csrf_token": anon.cookies.get("backroom_form")})
        assert r.status_code == 303

        async def repairing():
            async with db.read_sessionmaker() as s:
                return (await s.get(RmaCase, cid)).state == "in_repair"

        await eventually(repairing)
        detail = (await c["agent"].get(f"/api/v1/aftersales/cases/{cid}")).json()
        assert detail["quote_minor"] == 4200 and [ln["description"] for ln in detail["quote_lines"]] == [
            "Cable",
            "Bench time",
        ]
        assert [e["to_state"] for e in detail["events"] if e["to_state"]][:7] == [
            "requested", "approved", "awaiting_item", "received", "diagnosed", "quote_sent", "quote_approved",
        ]  # fmt: skip
        work = (await c["technician"].get("/api/v1/aftersales/cases/work")).json()["items"]
        assert [w["id"] for w in work] == [cid]
        await dev_env.client.get_workflow_handle(f"rma-{cid}").terminate("test over")
    async with db.read_sessionmaker() as s:
        actions = set(await s.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == str(cid))))
    assert {
        "rma.open",
        "rma.approve",
        "rma.receive",
        "rma.diagnose",
        "rma.quote",
        "rma.quote_approve",
    } <= actions


async def test_bad_input_is_refused_in_words_and_roles_are_kept(db, settings, dev_env, task_queue):
    _people, customer, product, _app, c = await _setup(db, settings, dev_env, task_queue)
    body = {"kind": "refund", "reason": "Broken", "customer_id": customer.id, "product_id": product.id}
    r = await c["agent"].post("/api/v1/aftersales/cases", json=body)
    assert r.status_code == 409 and r.json()["detail"] == "A return needs the order line it returns."
    r = await c["agent"].post(
        "/api/v1/aftersales/cases", json={**body, "kind": "repair", "customer_id": 10**12}
    )
    assert r.status_code == 404
    r = await c["agent"].post("/api/v1/aftersales/cases", json={**body, "kind": "swap"})
    assert r.status_code == 422
    r = await c["agent"].post("/api/v1/aftersales/cases", json={**body, "kind": "repair", "reason": ""})
    assert r.status_code == 422
    assert (
        await c["technician"].post("/api/v1/aftersales/cases", json={**body, "kind": "repair"})
    ).status_code == 403
    assert (await c["vendor"].get("/api/v1/aftersales/cases")).status_code == 403
    assert (await c["vendor"].get("/api/v1/warranties")).status_code == 403
    r = await c["agent"].post("/api/v1/aftersales/cases/1/steps", json={"action": "teleport"})
    assert r.status_code == 409 and "not a step" in r.json()["detail"]
    async with db.read_sessionmaker() as s:
        assert await s.scalar(select(RmaCase.id).where(RmaCase.customer_id == customer.id)) is None


async def test_warranty_registered_looked_up_and_extended(sqlite_db, settings, dev_env, task_queue):
    db = sqlite_db
    people, customer, _p, app, c = await _setup(db, settings, dev_env, task_queue)
    async with db.sessionmaker.begin() as s:
        drill = await warranted_product(s, months=24)
    serial = uniq("SN-")
    body = {
        "customer_id": customer.id,
        "product_id": drill.id,
        "serial": serial,
        "purchased_at": (utcnow() - timedelta(days=3)).isoformat(),
        "proof": "till receipt 991",
    }
    assert (await c["warehouse"].post("/api/v1/warranties", json=body)).status_code == 403
    r = await c["clerk"].post("/api/v1/warranties", json={**body, "product_id": _p.id})
    assert r.status_code == 422 and "has no warranty period" in r.json()["detail"]
    async with _worker(dev_env, db, settings, task_queue):
        r = await c["clerk"].post("/api/v1/warranties", json=body)
        assert r.status_code == 201, r.text
        w = r.json()
        assert (
            w["status"] == "active"
            and w["customer_name"] == customer.name
            and w["events"][0]["kind"] == "registered"
        )
        found = (await c["technician"].get("/api/v1/warranties", params={"serial": serial})).json()
        assert [x["id"] for x in found] == [w["id"]]

        async def running():
            try:
                return (
                    await dev_env.client.get_workflow_handle(f"warranty-{w['id']}").describe()
                ).status.name == "RUNNING"
            except Exception:
                return False

        await eventually(running)
        r = await c["agent"].post(
            f"/api/v1/warranties/{w['id']}/extend", json={"months": 12, "reason": "goodwill"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["expires_at"][:7] != w["expires_at"][:7]
        detail = (await c["agent"].get(f"/api/v1/warranties/{w['id']}")).json()
        assert detail["extended_months"] == 12 and detail["events"][0]["kind"] == "extend"
        # The pages: look-up and the panel the customer page embeds.
        ui = await browser_client(app, people["agent"].username)
        page = await ui.get("/warranties", params={"q": serial})
        assert page.status_code == 200 and drill.name in page.text and "active" in page.text
        panel = await ui.get("/warranties/panel", params={"customer_id": customer.id})
        assert serial in panel.text
        cust_page = await ui.get(f"/customers/{customer.id}")
        assert f"/warranties/panel?customer_id={customer.id}" in cust_page.text
        assert (
            await c["agent"].post(f"/api/v1/warranties/{w['id']}/void", json={"reason": "x"})
        ).status_code == 403
        r = await c["manager"].post(f"/api/v1/warranties/{w['id']}/void", json={"reason": "Seal broken"})
        assert r.status_code == 200 and r.json()["status"] == "voided", r.text
        handle = dev_env.client.get_workflow_handle(f"warranty-{w['id']}")
        assert await handle.result() == "voided"  # its timers are gone with it
        r = await c["agent"].post(f"/api/v1/warranties/{w['id']}/extend", json={"months": 1})
        assert r.status_code == 409 and "voided" in r.json()["detail"]


async def test_case_pages_for_staff(sqlite_db, settings, dev_env, task_queue):
    db = sqlite_db
    people, customer, product, app, c = await _setup(db, settings, dev_env, task_queue)
    r = await c["agent"].post(
        "/api/v1/aftersales/cases",
        json={
            "kind": "repair",
            "reason": "Won't charge",
            "customer_id": customer.id,
            "product_id": product.id,
        },
    )
    cid = r.json()["id"]
    ui = await browser_client(app, people["agent"].username)
    queue = await ui.get("/aftersales")
    assert queue.status_code == 200 and customer.name in queue.text and f"/aftersales/{cid}" in queue.text
    page = await ui.get(f"/aftersales/{cid}")
    assert page.status_code == 200 and "Approve the request" in page.text and "Won&#39;t charge" in page.text
    assert re.search(r"requested", page.text)
    tech = await browser_client(app, people["technician"].username)
    assert (await tech.get("/aftersales/work")).status_code == 200
    assert "Approve the request" not in (await tech.get(f"/aftersales/{cid}")).text
    form = await ui.get("/aftersales/new")
    assert form.status_code == 200
    r = await ui.post(
        "/aftersales/new",
        data={
            "csrf_token": ui.csrf,
            "kind": "refund",
            "reason": "x",
            "customer_id": str(customer.id),
            "product_id": str(product.id),
        },
    )
    assert r.status_code == 422 and "A return needs the order line it returns." in r.text
    await dev_env.client.get_workflow_handle(f"rma-{cid}").terminate("test over")


async def test_customer_asks_for_a_return_from_the_storefront_order_page(
    sqlite_db, commerce_settings, dev_env, task_queue
):
    from backroom.payments.stripe_gateway import StripeGateway
    from tests.helpers import paid_delivered_order

    db, settings = sqlite_db, commerce_settings
    settings.task_queue = task_queue
    gateway = StripeGateway("sk_test_backroom", api_base=settings.stripe_api_base, max_network_retries=0)
    _b, customer, product, order, line = await paid_delivered_order(db, settings, gateway)
    app = make_app(db, settings, temporal_client=dev_env.client)
    shopper = client_for(app)  # no account: the order's secret link
    page = await shopper.get(f"/shop/orders/{order.token}")
    assert f"/shop/orders/{order.token}/aftersales" in page.text
    form = await shopper.get(f"/shop/orders/{order.token}/aftersales")
    assert form.status_code == 200 and product.name in form.text
    sid = shopper.cookies.get("shop_sid")
    r = await shopper.post(
        f"/shop/orders/{order.token}/aftersales",
        data={"order_line_id": str(line.id), "kind": "refund", "reason": "", "csrf_token": sid},
    )
    assert r.status_code == 422 and "tell us what is wrong" in r.text
    r = await shopper.post(
        f"/shop/orders/{order.token}/aftersales",
        data={"order_line_id": str(line.id), "kind": "refund", "reason": "Too small", "csrf_token": sid},
    )
    assert r.status_code == 303
    async with db.read_sessionmaker() as s:
        case = await s.scalar(select(RmaCase).where(RmaCase.order_id == order.id))
    assert case.opened_via == "storefront" and case.kind == "refund" and case.customer_id == customer.id
    assert case.refund_minor == line.line_total_minor + line.tax_minor and case.by_post
    assert (await shopper.get("/shop/orders/not-a-token/aftersales")).status_code == 404
    await dev_env.client.get_workflow_handle(case.workflow_id).terminate("test over")


async def test_page_steps_refuse_bad_input_in_words(sqlite_db, settings, dev_env, task_queue):
    db = sqlite_db
    people, customer, product, app, c = await _setup(db, settings, dev_env, task_queue)
    r = await c["agent"].post(
        "/api/v1/aftersales/cases",
        json={"kind": "repair", "reason": "Hums", "customer_id": customer.id, "product_id": product.id},
    )
    cid = r.json()["id"]
    tech = await browser_client(app, people["technician"].username)
    for data, words in (
        (
            {"action": "quote", "line0_description": "Fan", "line0_price": "twelve"},
            "enter the price as 12.50",
        ),
        ({"action": "quote", "line0_description": "x" * 300, "line0_price": "1"}, "Check the form"),
        ({"action": "teleport"}, "not a step"),
        ({"action": "receive"}, "You may not post service"),  # the warehouse's step
    ):
        r = await tech.post(f"/aftersales/{cid}/steps", data={"csrf_token": tech.csrf, **data})
        assert r.status_code == 303 and words in unquote(r.headers["location"])
    await dev_env.client.get_workflow_handle(f"rma-{cid}").terminate("test over")


async def test_serial_recorded_later_on_the_warranty_page(sqlite_db, settings, dev_env, task_queue):
    db = sqlite_db
    people, _customer, _p, app, _c = await _setup(db, settings, dev_env, task_queue)
    from tests.helpers import registered

    async with db.sessionmaker.begin() as s:
        *_, w = await registered(s, left=timedelta(days=200), branch=people["branch"])
        other = await registered(s, left=timedelta(days=200), branch=people["branch"], serial=uniq("TAKEN-"))
    ui = await browser_client(app, people["agent"].username)
    r = await ui.post(f"/warranties/{w.id}/edit", data={"csrf_token": ui.csrf, "serial": "SN-NEW-1"})
    assert r.status_code == 303 and "Saved" in unquote(r.headers["location"])
    page = await ui.get(f"/warranties/{w.id}")
    assert "SN-NEW-1" in page.text and "Edited" in page.text
    # A serial already registered for the same product is refused in words (other product: fine).
    async with db.sessionmaker.begin() as s:
        from backroom.warranty.models import Warranty

        row = await s.get(Warranty, other[3].id)
        row.product_id = w.product_id
    r = await ui.post(f"/warranties/{w.id}/edit", data={"csrf_token": ui.csrf, "serial": other[3].serial})
    assert "already registered" in unquote(r.headers["location"])
    tech = await browser_client(app, people["technician"].username)
    r = await tech.post(f"/warranties/{w.id}/edit", data={"csrf_token": tech.csrf, "serial": "X"})
    assert r.status_code == 403


async def test_case_page_shows_the_covering_warranty(sqlite_db, settings, dev_env, task_queue):
    db = sqlite_db
    people, _customer, _p, app, c = await _setup(db, settings, dev_env, task_queue)
    from tests.helpers import registered

    async with db.sessionmaker.begin() as s:
        _b, owner, _product, w = await registered(s, left=timedelta(days=20), branch=people["branch"])
    r = await c["agent"].post(
        "/api/v1/aftersales/cases", json={"kind": "repair", "reason": "Rattles", "serial": w.serial}
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["under_warranty"] and case["warranty_id"] == w.id and case["customer_id"] == owner.id
    ui = await browser_client(app, people["agent"].username)
    page = await ui.get(f"/aftersales/{case['id']}")
    assert page.status_code == 200 and f"/warranties/{w.id}" in page.text and "free of charge" in page.text
    assert "expiring" in page.text  # 20 days left
    intake = await ui.get("/aftersales/new", params={"serial": w.serial})
    assert intake.status_code == 200 and f"/warranties/{w.id}" in intake.text and "expiring" in intake.text
    await dev_env.client.get_workflow_handle(f"rma-{case['id']}").terminate("test over")
