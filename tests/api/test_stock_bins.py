"""Issue 15 item 11: stock has a place in each branch (shelf or bin). The warehouse sets it on the
product page or through the API (audited; blank clears it; too long is refused in words); the
pick list shows it beside the branch; a role without stock rights in the branch cannot set it."""

from __future__ import annotations

from urllib.parse import unquote

from sqlalchemy import select

from backroom.audit.models import AuditEvent
from tests.helpers import (
    browser_client,
    create_user,
    make_app,
    make_shop,
    place,
    set_order_status,
    token_client,
)


async def test_shelves_on_the_product_page_the_api_and_the_pick_list(db, settings):
    async with db.sessionmaker.begin() as s:
        a, b, (lamp,) = await make_shop(s, stock=((3, 0),))
        wh = await create_user(s, grants=[("warehouse", a.id)])
        clerk = await create_user(s, grants=[("clerk", a.id)])
    app = make_app(db, settings)
    ui = await browser_client(app, wh.username)
    r = await ui.post(
        f"/catalog/{lamp.id}/bin", data={"csrf_token": ui.csrf, "branch_id": str(a.id), "bin": " a-03-2 "}
    )
    assert r.status_code == 303 and "Shelf saved" in unquote(r.headers["location"])
    page = (await ui.get(f"/catalog/{lamp.id}")).text
    assert "<td>A-03-2</td>" in page and f"<td>{a.name}</td>" in page
    too_long = await ui.post(
        f"/catalog/{lamp.id}/bin", data={"csrf_token": ui.csrf, "branch_id": str(a.id), "bin": "X" * 41}
    )
    assert too_long.status_code == 422 and "40 characters" in too_long.text

    api = await token_client(app, db, wh)
    same = await api.put(f"/api/v1/products/{lamp.id}/bin", json={"branch_id": a.id, "bin": "A-03-2"})
    assert same.status_code == 200 and same.json()["stock"][0]["bin"] == "A-03-2"
    other_branch = await api.put(f"/api/v1/products/{lamp.id}/bin", json={"branch_id": b.id, "bin": "Z-1"})
    assert other_branch.status_code == 403  # no stock rights in branch B
    seller = await token_client(app, db, clerk)
    assert (
        await seller.put(f"/api/v1/products/{lamp.id}/bin", json={"branch_id": a.id, "bin": "Q"})
    ).status_code == 403
    async with db.read_sessionmaker() as s:
        moves = (
            await s.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.entity_type == "product", AuditEvent.entity_id == str(lamp.id)
                )
            )
        ).all()
    assert moves.count("stock.bin") == 1  # setting the same shelf again wrote nothing

    order = await place(db, a, [(lamp.id, 1)])
    await set_order_status(db, order, "picking")
    pick = (await ui.get("/warehouse/pick-list")).text
    assert f"{a.name}, shelf <b>A-03-2</b>" in pick

    cleared = await api.put(f"/api/v1/products/{lamp.id}/bin", json={"branch_id": a.id, "bin": ""})
    assert cleared.json()["stock"][0]["bin"] is None
    assert "shelf <b>" not in (await ui.get("/warehouse/pick-list")).text
