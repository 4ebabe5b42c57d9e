"""Staff pages: the loyalty card on the customer page (enrol, adjust, refusals on the page),
the programs page, the segment builder (preview, save) and the customer list by segment."""

from __future__ import annotations

from backroom.loyalty import service as loyalty
from tests.helpers import (
    TEST_ACTOR,
    TIERS,
    browser_client,
    client_for,
    create_branch,
    create_customer,
    create_user,
    fresh_currency,
    make_app,
    uniq,
)


async def test_card_enrol_adjust_and_segment_builder(sqlite_db, settings):
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        branch = await create_branch(s, name=uniq("Depot "))
        manager = await create_user(s, grants=[("manager", branch.id)], username=uniq("mgr"))
        currency = await fresh_currency(s)
        from backroom.loyalty.schemas import ProgramCreate

        prog = await loyalty.create_program(
            s, actor=TEST_ACTOR, data=ProgramCreate(name=uniq("Club "), currency=currency, tiers=TIERS)
        )
        await loyalty.activate_program(s, actor=TEST_ACTOR, program_id=prog.id)
        tag = uniq("tag")
        cust = await create_customer(s, branch=branch, name=f"Card {uniq()}", currency=currency, tags=[tag])
    app = make_app(db, settings)
    ui = await browser_client(app, manager.username)
    page = await ui.get(f"/customers/{cust.id}")
    assert "Not a member." in page.text
    r = await ui.post(f"/customers/{cust.id}/loyalty/enrol", data={"csrf_token": ui.csrf})
    assert r.status_code == 303 and "consent" in r.headers["location"]
    r = await ui.post(f"/customers/{cust.id}/loyalty/enrol", data={"csrf_token": ui.csrf, "consent": "true"})
    assert r.status_code == 303
    r = await ui.post(
        f"/customers/{cust.id}/loyalty/adjust", data={"csrf_token": ui.csrf, "points": "75", "reason": ""}
    )
    assert "Say%20why" in r.headers["location"]
    r = await ui.post(
        f"/customers/{cust.id}/loyalty/adjust",
        data={"csrf_token": ui.csrf, "points": "75", "reason": "Goodwill"},
    )
    page = await ui.get(f"/customers/{cust.id}")
    assert "75 points" in page.text and "Bronze" in page.text
    assert prog.name in (await ui.get("/loyalty")).text
    # The builder: a bad row is refused in words; a preview shows the count; saving lists it.
    form = {
        "csrf_token": ui.csrf,
        "join": "and",
        "attr0": "spend",
        "op0": "gte",
        "value0": "lots",
        "days0": "30",
    }
    r = await ui.post("/segments/new", data=form)
    assert r.status_code == 422 and "enter an amount such as 250.00" in r.text
    form = {
        "csrf_token": ui.csrf,
        "join": "and",
        "attr0": "tag",
        "op0": "is",
        "value0": tag,
        "name": uniq("Tagged "),
    }
    r = await ui.post("/segments/new", data={**form, "action": "preview"})
    assert r.status_code == 200 and "1 customer" in r.text and cust.name in r.text
    r = await ui.post("/segments/new", data={**form, "action": "save"})
    assert r.status_code == 303
    seg_page = await ui.get(r.headers["location"])
    assert f"Tag is {tag}" in seg_page.text
    seg_id = r.headers["location"].split("/")[-1].split("?")[0]
    listed = await ui.get(f"/customers?segment={seg_id}")
    assert cust.name in listed.text


async def test_storefront_order_page_shows_the_points_of_the_order_email(fresh_db, settings):
    """The shop has no customer sign-in: the order page shows the balance of the customer with
    the order's e-mail (redemption is at the staff cart / API with POINTS)."""
    from backroom.db.base import utcnow
    from tests.helpers import add_order, make_member, make_program

    db = fresh_db
    async with db.sessionmaker.begin() as s:
        program = await make_program(s, currency="USD")
        customer, _ = await make_member(s, program)
        await loyalty.adjust(s, actor=TEST_ACTOR, customer_id=customer.id, points=321, reason="Welcome")
        order = await add_order(s, customer, total_minor=1000, placed_at=utcnow())
        order.customer_id = None  # a guest checkout with the member's e-mail
    app = make_app(db, settings)
    async with client_for(app) as shop:
        page = await shop.get(f"/shop/orders/{order.token}")
    assert page.status_code == 200 and "Your points" in page.text and "<b>321</b>" in page.text
