"""The loyalty programs page: chain-wide staff create a program (tiers typed one per line,
money as people write it), activate it and change its terms; mistakes come back on the form;
branch staff may not change programs."""

from __future__ import annotations

from sqlalchemy import select

from backroom.loyalty import service as loyalty
from backroom.loyalty.models import LoyaltyProgram
from tests.helpers import browser_client, create_branch, create_user, fresh_currency, make_app, uniq


async def test_programs_are_created_activated_and_changed_on_the_page(sqlite_db, settings):
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        branch = await create_branch(s)
        admin = await create_user(s, grants=[("admin", None)])
        manager = await create_user(s, grants=[("manager", branch.id)])
        currency = await fresh_currency(s)
    app = make_app(db, settings)
    ui = await browser_client(app, admin.username)
    name = uniq("Club ")
    form = {
        "csrf_token": ui.csrf,
        "name": name,
        "currency": currency.lower(),
        "points_per_unit": "2",
        "earn_rounding": "nearest",
        "point_value": "0.05",
        "birthday_points": "150",
        "tiers": "Bronze; 0; 100\nSilver; 500.00; 125; Free shipping",
    }
    bad = await ui.post("/loyalty/programs", data={**form, "tiers": "Gold"})
    assert bad.status_code == 422 and "One tier per line" in bad.text
    bad = await ui.post("/loyalty/programs", data={**form, "enrol_rule": "segment"})
    assert bad.status_code == 422 and "Choose the segment" in bad.text
    r = await ui.post("/loyalty/programs", data=form)
    assert r.status_code == 303, r.text
    async with db.read_sessionmaker() as s:
        prog = await s.scalar(select(LoyaltyProgram).where(LoyaltyProgram.name == name))
        read = await loyalty.read_program(s, prog)
    assert (read.currency, read.points_per_unit, read.point_value_minor, read.birthday_points) == (
        currency,
        2,
        5,
        150,
    )
    assert read.earn_rounding == "nearest"
    page = await ui.get("/loyalty")
    assert "rounded to the nearest unit" in page.text
    assert [(t.name, t.min_spend_minor, t.multiplier_percent, t.perks) for t in read.tiers] == [
        ("Bronze", 0, 100, ""),
        ("Silver", 50_000, 125, "Free shipping"),
    ]
    assert (
        await ui.post(f"/loyalty/programs/{prog.id}/activate", data={"csrf_token": ui.csrf})
    ).status_code == 303
    r = await ui.post(
        f"/loyalty/programs/{prog.id}",
        data={"csrf_token": ui.csrf, "birthday_points": "300", "enrol_rule": "first_purchase"},
    )
    assert r.status_code == 303 and "saved" in r.headers["location"]
    async with db.read_sessionmaker() as s:
        prog = await loyalty.get_program(s, prog.id)
        assert (prog.status, prog.birthday_points, prog.enrol_rule) == ("active", 300, "first_purchase")
    page = await ui.get("/loyalty")
    assert name in page.text and "with their first earning purchase" in page.text
    branch_staff = await browser_client(app, manager.username)
    assert (
        await branch_staff.post(
            f"/loyalty/programs/{prog.id}/activate", data={"csrf_token": branch_staff.csrf}
        )
    ).status_code == 403
