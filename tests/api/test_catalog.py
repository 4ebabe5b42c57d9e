"""Catalog API: CRUD, filters and keyset pages, vendor isolation, stock adjustments."""

from __future__ import annotations

from tests.helpers import create_branch, create_user, make_app, make_vendor, token_client, uniq, vendor_user


async def test_catalog_crud_pages_and_vendor_isolation(db, settings):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        mgr = await create_user(s, grants=[("manager", b.id)])
        vendor = await make_vendor(s, branch=b, trusted=True)  # trusted: listed without moderation
        vend = await vendor_user(s, vendor=vendor, branch=b)
    app = make_app(db, settings)
    m = await token_client(app, db, mgr)
    v = await token_client(app, db, vend)
    cat = uniq("cat")
    ids = []
    for i in range(3):
        r = await m.post(
            "/api/v1/products",
            json={
                "sku": uniq("S"),
                "name": f"Lamp {i}",
                "category": cat,
                "price_minor": 1000 + i,
                "tax_rate_bp": 825,
                "weight_g": 900,
            },
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    r = await v.post(
        "/api/v1/products",
        json={"sku": uniq("V"), "name": "Vendor vase", "category": cat, "price_minor": 500, "vendor_id": 1},
    )
    assert r.status_code == 201 and r.json()["vendor_id"] == vendor.id  # forced to the caller's vendor
    vendor_pid = r.json()["id"]
    page1 = (await m.get("/api/v1/products", params={"category": cat, "sort": "price", "limit": 2})).json()
    page2 = (
        await m.get(
            "/api/v1/products",
            params={"category": cat, "sort": "price", "limit": 2, "cursor": page1["next_cursor"]},
        )
    ).json()
    assert [p["price_minor"] for p in page1["items"] + page2["items"]] == [500, 1000, 1001, 1002]
    assert page2["next_cursor"] is None
    mine = (await v.get("/api/v1/products", params={"category": cat})).json()["items"]
    assert [p["id"] for p in mine] == [vendor_pid]
    assert (await v.get(f"/api/v1/products/{ids[0]}")).status_code == 404
    # Stock: added in the branch, never below what is reserved, and bad input changes nothing.
    r = await m.post(
        f"/api/v1/products/{ids[0]}/stock", json={"branch_id": b.id, "delta": 5, "reason": "delivery"}
    )
    assert r.json()["stock"] == [
        {"branch_id": b.id, "on_hand": 5, "reserved": 0, "bin": None, "available": 5}
    ]
    r = await m.post(
        f"/api/v1/products/{ids[0]}/stock", json={"branch_id": b.id, "delta": -6, "reason": "count"}
    )
    assert r.status_code == 409 and r.json()["code"] == "stock_below_reserved"
    r = await m.post(f"/api/v1/products/{ids[0]}/stock", json={"branch_id": b.id, "delta": "lots"})
    assert r.status_code == 422
    other = await create_branch_async(db)
    r = await m.post(f"/api/v1/products/{ids[0]}/stock", json={"branch_id": other, "delta": 1, "reason": "x"})
    assert r.status_code == 403
    r = await m.post(
        "/api/v1/products", json={"sku": "bad sku!", "name": "", "category": cat, "price_minor": -1}
    )
    assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} >= {"sku", "name", "price_minor"}
    assert (await m.get("/api/v1/products", params={"bogus": 1})).status_code == 422
    before = (await m.get(f"/api/v1/products/{ids[1]}")).json()["price_minor"]
    r = await m.patch(f"/api/v1/products/{ids[1]}", json={"price_minor": before * 11 // 10})
    assert r.json()["price_minor"] == before * 11 // 10  # within PRICE_CHANGE_APPROVAL_OVER_PERCENT
    r = await m.patch(f"/api/v1/products/{ids[1]}", json={"price_minor": before * 3})
    assert r.status_code == 202 and r.json()["kind"] == "price_change" and r.json()["status"] == "pending"
    assert (await m.get(f"/api/v1/products/{ids[1]}")).json()["price_minor"] == before * 11 // 10
    assert (await m.post(f"/api/v1/products/{ids[1]}/archive")).json()["status"] == "archived"
    assert (await m.patch(f"/api/v1/products/{ids[1]}", json={"name": "x"})).status_code == 409
    active = (await m.get("/api/v1/products", params={"category": cat})).json()["items"]
    assert ids[1] not in [p["id"] for p in active]


async def create_branch_async(db) -> int:
    async with db.sessionmaker.begin() as s:
        return (await create_branch(s)).id
