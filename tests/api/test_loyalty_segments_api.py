"""Loyalty and segments over HTTP: typed answers, record-level permissions, clear refusals,
and the customer list / CSV export filtered by a segment."""

from __future__ import annotations

from datetime import timedelta

from backroom.db.base import utcnow
from tests.helpers import (
    TIERS,
    add_order,
    create_branch,
    create_customer,
    create_user,
    fresh_currency,
    make_app,
    token_client,
    uniq,
)


async def _world(db):
    async with db.sessionmaker.begin() as s:
        a = await create_branch(s, name=uniq("North "))
        b = await create_branch(s, name=uniq("South "))
        admin = await create_user(s, grants=[("admin", None)])
        clerk_b = await create_user(s, grants=[("clerk", b.id)])
        manager_a = await create_user(s, grants=[("manager", a.id)])
        currency = await fresh_currency(s)
        ann = await create_customer(s, branch=a, name="Ann Loyal", currency=currency, consent_email=True)
        await add_order(s, ann, total_minor=40_000, placed_at=utcnow() - timedelta(days=5), currency=currency)
        bob = await create_customer(s, branch=a, name="Bob Quiet", currency=currency)
    return a, b, admin, clerk_b, manager_a, currency, ann, bob


async def test_programs_cards_and_adjustments(sqlite_db, settings):
    db = sqlite_db
    _a, _b, admin, clerk_b, manager_a, currency, ann, bob = await _world(db)
    app = make_app(db, settings)
    async with await token_client(app, db, admin) as api:
        body = {
            "name": "Rewards",
            "currency": currency,
            "expiry_days": 365,
            "tiers": [t.model_dump() for t in TIERS],
        }
        r = await api.post("/api/v1/loyalty/programs", json=body)
        assert r.status_code == 201, r.text
        program = r.json()
        assert [t["name"] for t in program["tiers"]] == ["Bronze", "Silver", "Gold"]
        r = await api.post(f"/api/v1/loyalty/programs/{program['id']}/activate")
        assert r.json()["status"] == "active"
        r = await api.post("/api/v1/loyalty/members", json={"customer_id": ann.id, "consent": False})
        assert r.status_code == 409 and "consent" in r.json()["detail"]
        r = await api.post("/api/v1/loyalty/members", json={"customer_id": ann.id, "consent": True})
        assert r.status_code == 201 and r.json()["tier"] == "Bronze"
        r = await api.post(
            f"/api/v1/customers/{ann.id}/loyalty/adjustments", json={"points": 120, "reason": ""}
        )
        assert r.status_code == 409 and r.json()["detail"] == "Say why the points are adjusted."
        r = await api.post(
            f"/api/v1/customers/{ann.id}/loyalty/adjustments", json={"points": 120, "reason": "Birthday"}
        )
        assert r.status_code == 201 and r.json() == {
            "status": "applied",
            "points": 120,
            "balance": 120,
            "adjustment_id": None,
        }
        r = await api.get(f"/api/v1/customers/{bob.id}/loyalty")
        assert r.status_code == 404 and "Bob Quiet is not a member" in r.json()["detail"]
        card = (await api.get(f"/api/v1/customers/{ann.id}/loyalty")).json()
        assert card["balance"] == 120 and card["ledger"][0]["reason"] == "Birthday"
    # A manager of branch A sees Ann's card but may not change chain-wide programs.
    async with await token_client(app, db, manager_a) as api:
        assert (await api.get(f"/api/v1/customers/{ann.id}/loyalty")).status_code == 200
        r = await api.patch(f"/api/v1/loyalty/programs/{program['id']}", json={"expiry_days": 30})
        assert r.status_code == 403 and "chain-wide" in r.json()["detail"]
    # A clerk of branch B may not read or adjust a branch-A customer's points.
    async with await token_client(app, db, clerk_b) as api:
        assert (await api.get(f"/api/v1/customers/{ann.id}/loyalty")).status_code == 403
        r = await api.post(
            f"/api/v1/customers/{ann.id}/loyalty/adjustments", json={"points": 5, "reason": "x"}
        )
        assert r.status_code == 403


async def test_segments_preview_create_filter_and_export(sqlite_db, settings):
    db = sqlite_db
    a, _b, admin, clerk_b, _manager_a, currency, _ann, _bob = await _world(db)
    app = make_app(db, settings)
    rules = {
        "join": "and",
        "conditions": [
            {"attr": "home_branch", "op": "in", "value": [a.id]},
            {"attr": "spend", "op": "gte", "value": 30_000, "days": 30, "currency": currency},
        ],
    }
    async with await token_client(app, db, admin) as api:
        r = await api.post("/api/v1/segments/preview", json={"rules": rules})
        assert r.status_code == 200, r.text
        assert r.json()["count"] == 1 and r.json()["sample"][0]["name"] == "Ann Loyal"
        assert r.json()["explained"].startswith(f"Home branch is one of {a.name} AND Spend over 30 days")
        bad = {"join": "and", "conditions": [{"attr": "spend", "op": "gte", "value": 1, "days": 30}]}
        r = await api.post("/api/v1/segments", json={"name": "Bad", "rules": bad})
        assert r.status_code == 422 and "Spend: say in which currency" in r.text
        r = await api.post("/api/v1/segments", json={"name": uniq("Big "), "rules": rules})
        assert r.status_code == 201
        seg = r.json()
        r = await api.get("/api/v1/customers", params={"segment": seg["id"]})
        assert [c["name"] for c in r.json()["items"]] == ["Ann Loyal"]
        r = await api.get("/api/v1/customers/export.csv", params={"segment": seg["id"]})
        lines = r.text.strip().splitlines()
        assert len(lines) == 2 and "Ann Loyal" in lines[1]
        r = await api.get("/api/v1/customers", params={"segment": 999_999})
        assert r.status_code == 404
    # Branch B's clerk may not define segments (no segmentation grant).
    async with await token_client(app, db, clerk_b) as api:
        assert (await api.post("/api/v1/segments", json={"name": "X", "rules": rules})).status_code == 403
