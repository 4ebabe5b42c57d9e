"""Serial numbers captured at packing: the warehouse enters one per unit of a serial-numbered
product; missing, repeated or already used serials are refused in words; the warranties
registered at delivery carry them, and a clerk cannot register the same serial again."""

from __future__ import annotations

from sqlalchemy import select

from backroom.orders.models import OrderLine, UnitSerial
from backroom.warranty.models import Warranty
from tests.api.test_checkout import BODY, running, wait_for
from tests.helpers import create_customer, create_user, make_shop, open_cart, token_client, uniq


async def _order(c, db, branch, product_id, qty):
    cart = await open_cart(c, db, branch)
    r = await c.post(f"/api/v1/carts/{cart['id']}/items", json={"product_id": product_id, "qty": qty})
    assert r.status_code == 200, r.text
    r = await c.post(
        f"/api/v1/carts/{cart['id']}/checkout", json=BODY, headers={"Idempotency-Key": uniq("k-")}
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_serials_at_packing_reach_the_warranties(dev_env, sqlite_db, commerce_settings, task_queue):
    db, settings = sqlite_db, commerce_settings
    # Serials are unique across the database the tests share: this run's own.
    sn1, sn2 = uniq("SN-"), uniq("SN-")
    settings.shippo_webhook_secret = "shippo-token"
    async with db.sessionmaker.begin() as s:
        a, _b, (drill,) = await make_shop(s, stock=((5, 0),), prices=(4000,))
        drill.serial_tracked, drill.warranty_months = True, 24
        clerk = await create_user(s, grants=[("clerk", a.id)])
        wh = await create_user(s, grants=[("warehouse", a.id)])
        agent = await create_user(s, grants=[("agent", a.id)])
        customer = await create_customer(s, branch=a)
    async with running(dev_env, db, settings, task_queue) as app:
        c, w = await token_client(app, db, clerk), await token_client(app, db, wh)
        oid = await _order(c, db, a, drill.id, 2)
        order = await wait_for(w, f"/api/v1/orders/{oid}", "picking")
        pid = order["parcels"][0]["id"]
        async with db.read_sessionmaker() as s:
            line_id = await s.scalar(select(OrderLine.id).where(OrderLine.order_id == oid))
        pack = f"/api/v1/orders/{oid}/parcels/{pid}/pack"
        assert (await w.post(f"/api/v1/orders/{oid}/parcels/{pid}/pick")).status_code == 200
        missing = await w.post(pack)
        assert missing.status_code in (400, 422) and "Enter 2 serial numbers" in missing.text
        one = await w.post(pack, json={"serials": {str(line_id): [sn1]}})
        assert one.status_code in (400, 422) and "1 given" in one.text
        twice = await w.post(pack, json={"serials": {str(line_id): [sn1, f" {sn1} "]}})
        assert twice.status_code in (400, 422) and "entered twice" in twice.text
        ok = await w.post(pack, json={"serials": {str(line_id): [sn1, sn2]}})
        assert ok.status_code == 200, ok.text
        for step in ("label", "ship"):
            assert (await w.post(f"/api/v1/orders/{oid}/parcels/{pid}/{step}")).status_code == 200
        tracking = (await wait_for(w, f"/api/v1/orders/{oid}", "shipped"))["parcels"][0]["tracking_number"]
        event = {
            "event": "track_updated",
            "data": {
                "tracking_number": tracking,
                "carrier": "local",
                "tracking_status": {"status": "DELIVERED", "object_id": uniq()},
            },
        }
        hook = f"/api/v1/webhooks/shippo?token={settings.shippo_webhook_secret}"
        assert (await c.post(hook, json=event)).status_code == 200
        await wait_for(w, f"/api/v1/orders/{oid}", "completed")

        # A second order cannot pack a unit with a serial already shipped.
        second = await _order(c, db, a, drill.id, 1)
        order2 = await wait_for(w, f"/api/v1/orders/{second}", "picking")
        pid2 = order2["parcels"][0]["id"]
        async with db.read_sessionmaker() as s:
            line2 = await s.scalar(select(OrderLine.id).where(OrderLine.order_id == second))
        assert (await w.post(f"/api/v1/orders/{second}/parcels/{pid2}/pick")).status_code == 200
        taken = await w.post(
            f"/api/v1/orders/{second}/parcels/{pid2}/pack", json={"serials": {str(line2): [sn2]}}
        )
        assert taken.status_code in (400, 422) and f"already packed with order #{oid}" in taken.text
        # ... nor can a clerk register it by hand for an in-store sale.
        g = await token_client(app, db, agent)
        by_hand = await g.post(
            "/api/v1/warranties",
            json={
                "customer_id": customer.id,
                "product_id": drill.id,
                "serial": sn1,
                "purchased_at": "2026-01-05T10:00:00Z",
            },
        )
        assert by_hand.status_code == 409 and sn1 in by_hand.text
    async with db.read_sessionmaker() as s:
        units = {
            (u.unit_no, u.serial)
            for u in await s.scalars(select(UnitSerial).where(UnitSerial.order_id == oid))
        }
        registered = list(
            await s.scalars(select(Warranty).where(Warranty.order_id == oid).order_by(Warranty.unit_no))
        )
    assert units == {(1, sn1), (2, sn2)}
    assert [(w.unit_no, w.serial) for w in registered] == [(1, sn1), (2, sn2)]
