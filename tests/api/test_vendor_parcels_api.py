"""A vendor user ships its own parcel through the API (issue 13, step 3): pick, pack, label and
ship answer with the vendor's view of the order (no payment, no other vendor's parcel); another
vendor's parcel, the shop's parcel and the shop's own parcel routes are refused (404, 404, 403);
a step out of turn is a 409 in words; the vendor panel page offers the next step's button."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from backroom.orders import service as orders
from backroom.orders.flow import order_workflow_id
from tests.helpers import (
    adapters,
    browser_client,
    create_user,
    make_app,
    make_shop,
    make_vendor,
    place,
    token_client,
    uniq,
    vendor_product,
    vendor_user,
)
from worker.registry import Deps, build_worker
from workflows.orders import OrderFulfillmentWorkflow


@asynccontextmanager
async def _running(env, db, settings, task_queue):
    settings.task_queue = task_queue
    settings.workflow_prefix = uniq("vp") + "-"
    async with db.sessionmaker.begin() as s:
        a, _b, (own,) = await make_shop(s, stock=((3, 0),))
        va = await make_vendor(s, branch=a, name=uniq("Alpha "))
        vb = await make_vendor(s, branch=a, name=uniq("Bravo "))
        pa = await vendor_product(s, vendor=va, branch=a)
        pb = await vendor_product(s, vendor=vb, branch=a)
        seller = await vendor_user(s, vendor=va, branch=a)
        wh = await create_user(s, grants=[("warehouse", a.id)])
    order = await place(db, a, [(own.id, 1), (pa.id, 1), (pb.id, 1)])
    async with db.read_sessionmaker() as s:
        parcels = {p.vendor_id: p.id for p in await orders.parcels_of(s, order.id)}
        start = await orders.start_input(s, order, settings)
    deps = Deps(settings=settings, sessionmaker=db.sessionmaker, extra=adapters(settings))
    async with build_worker(env.client, deps, task_queue=task_queue):
        await env.client.start_workflow(
            OrderFulfillmentWorkflow.run,
            start,
            id=order_workflow_id(order.id, settings.workflow_prefix),
            task_queue=task_queue,
        )
        app = make_app(db, settings, temporal_client=env.client)
        yield {
            "app": app,
            "order": order,
            "mine": parcels[va.id],
            "theirs": parcels[vb.id],
            "shop": parcels[None],
            "seller": seller,
            "wh": wh,
            "va": va,
            "vb": vb,
        }


async def _picking(api, order_id):
    for _ in range(200):
        body = (await api.get(f"/api/v1/vendor-orders/{order_id}")).json()
        if body["status"] == "picking":
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"order {order_id} stayed {body['status']}")


async def test_a_vendor_user_ships_its_own_parcel_and_reaches_no_other(
    dev_env, sqlite_db, commerce_settings, task_queue
):
    async with _running(dev_env, sqlite_db, commerce_settings, task_queue) as w:
        api = await token_client(w["app"], sqlite_db, w["seller"])
        oid = w["order"].id
        url = f"/api/v1/vendor-orders/{oid}/parcels"
        seen = await _picking(api, oid)
        assert [p["id"] for p in seen["parcels"]] == [w["mine"]]  # its own parcel only
        for other in (w["theirs"], w["shop"], 9 * 10**17):
            r = await api.post(f"{url}/{other}/pick")
            assert r.status_code == 404, r.text
        assert (await api.post(f"{url}/{w['mine']}/delivered")).status_code == 422  # not a vendor step
        assert (await api.post(f"/api/v1/orders/{oid}/parcels/{w['mine']}/pick")).status_code == 403
        r = await api.post(f"{url}/{w['mine']}/pack")
        assert r.status_code == 409 and "pending" in r.json()["detail"]  # not picked yet: in words
        for step, status in (
            ("pick", "picked"),
            ("pack", "packed"),
            ("label", "labelled"),
            ("ship", "shipped"),
        ):
            r = await api.post(f"{url}/{w['mine']}/{step}")
            assert r.status_code == 200, r.text
            (parcel,) = r.json()["parcels"]
            assert (parcel["id"], parcel["status"]) == (w["mine"], status)
        assert parcel["tracking_number"] and parcel["carrier"]
        assert "intent" not in r.text and "captured" not in r.text  # no payment in the vendor's view
        label = await api.get(f"/api/v1/orders/{oid}/parcels/{w['mine']}/label.pdf")
        assert label.status_code == 200 and label.content[:4] == b"%PDF"
        assert (await api.get(f"/api/v1/orders/{oid}/parcels/{w['theirs']}/label.pdf")).status_code == 404
        # The other vendor's and the shop's parcels did not move; staff still see every parcel.
        staff = await token_client(w["app"], sqlite_db, w["wh"])
        got = (await staff.get(f"/api/v1/orders/{oid}")).json()
        statuses = {p["id"]: p["status"] for p in got["parcels"]}
        assert statuses == {w["shop"]: "pending", w["mine"]: "shipped", w["theirs"]: "pending"}
        # Staff act on the other vendor's parcel on its behalf, with the warehouse's permission.
        r = await staff.post(f"/api/v1/orders/{oid}/parcels/{w['theirs']}/pick")
        assert r.status_code == 200, r.text


async def test_the_vendor_panel_offers_the_next_step_and_takes_it(
    dev_env, sqlite_db, commerce_settings, task_queue
):
    async with _running(dev_env, sqlite_db, commerce_settings, task_queue) as w:
        api = await token_client(w["app"], sqlite_db, w["seller"])
        oid, vid = w["order"].id, w["va"].id
        await _picking(api, oid)
        ui = await browser_client(w["app"], w["seller"].username)
        panel = await ui.get(f"/vendors/{vid}")
        assert f'href="/vendors/{vid}/orders/{oid}">1 to ship</a>' in panel.text
        page = await ui.get(f"/vendors/{vid}/orders/{oid}")
        assert page.status_code == 200
        assert f'action="/vendors/{vid}/orders/{oid}/parcels/{w["mine"]}/pick"' in page.text
        assert f"/parcels/{w['theirs']}/" not in page.text and w["vb"].name not in page.text
        form = {"csrf_token": ui.csrf, "submission_key": uniq("k")}
        r = await ui.post(f"/vendors/{vid}/orders/{oid}/parcels/{w['mine']}/pick", data=form)
        assert r.status_code == 303, r.text
        page = await ui.get(f"/vendors/{vid}/orders/{oid}")
        assert f'action="/vendors/{vid}/orders/{oid}/parcels/{w["mine"]}/pack"' in page.text
        slip = f"/vendors/{vid}/orders/{oid}/parcels/{w['mine']}/packing-slip.pdf"
        assert slip in page.text
        pdf = await ui.get(slip)
        assert pdf.status_code == 200 and pdf.content[:4] == b"%PDF"
        other = f"/vendors/{vid}/orders/{oid}/parcels/{w['theirs']}/packing-slip.pdf"
        assert (await ui.get(other)).status_code == 404
        r = await ui.post(
            f"/vendors/{vid}/orders/{oid}/parcels/{w['theirs']}/pick",
            data={"csrf_token": ui.csrf, "submission_key": uniq("k")},
        )
        assert r.status_code == 404
        # Staff see every parcel of the order and who ships it.
        staff = await browser_client(w["app"], w["wh"].username)
        page = (await staff.get(f"/orders/{oid}")).text
        assert f"{w['va'].name} (vendor)" in page and f"{w['vb'].name} (vendor)" in page
        assert "the warehouse" in page
