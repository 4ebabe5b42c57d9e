"""The promotions report broken down and filtered by promotion (a record dimension of the
reports core): per-promotion numbers equal the redemptions' own sums, names not ids, the
filter, exports, the rollups staying out of it, and report sets without it refusing."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from backroom.errors import Refused
from backroom.promotions import service as promotions
from backroom.promotions.models import Promotion, Redemption
from backroom.promotions.reports import USES
from backroom.reports import export, rollups
from backroom.reports import service as reports
from backroom.reports.catalog import Dimension
from tests.helpers import (
    browser_client,
    create_user,
    make_app,
    make_promotion,
    make_shop,
    place_with,
    token_client,
    uniq,
)


def _line(report, name):
    return next(x for x in report.summary if x.measure == name)


async def _shop(s):
    """One branch, two promotions used 2 and 1 times (fixed 5.00 and 3.00 off), one order without."""
    a, _b, (p1,) = await make_shop(s, stock=((50, 0),), prices=(3000,))
    spring = await make_promotion(s, a, kind="fixed", amount_minor=500, name=uniq("Spring sale "))
    winter = await make_promotion(s, a, kind="fixed", amount_minor=300, name=uniq("Winter deal "))
    spring_code = await promotions.shared_code(s, spring.id)
    winter_code = await promotions.shared_code(s, winter.id)
    await place_with(s, a, [(p1.id, 1)], codes=[spring_code])
    await place_with(s, a, [(p1.id, 2)], codes=[spring_code])
    await place_with(s, a, [(p1.id, 3)], codes=[winter_code])
    await place_with(s, a, [(p1.id, 1)])
    return a, spring, winter


async def _truth(s, branch_id):
    """Per promotion name: (live uses, discount, order totals), straight from the redemptions."""
    live = Redemption.status.in_(("reserved", "confirmed"))
    rows = (
        await s.execute(
            select(
                Promotion.name,
                func.count(Redemption.id),
                func.sum(Redemption.discount_minor + Redemption.shipping_discount_minor),
                func.sum(Redemption.order_total_minor),
            )
            .join(Promotion, Promotion.id == Redemption.promotion_id)
            .where(Redemption.branch_id == branch_id, live)
            .group_by(Promotion.name)
        )
    ).all()
    return {n: (c, int(d), int(t)) for n, c, d, t in rows}


async def test_breakdown_by_promotion_equals_the_redemptions(db):
    async with db.sessionmaker.begin() as s:
        a, spring, winter = await _shop(s)
        truth = await _truth(s, a.id)
        assert {n: (c, d) for n, (c, d, _) in truth.items()} == {
            spring.name: (2, 1000),
            winter.name: (1, 300),
        }
        r = await reports.build_report(s, function="promotions", edition="daily", day=None, branch_ids=[a.id])
        by = next(b for b in r.breakdowns if b.dimension is Dimension.PROMOTION)
        assert by.label == "By promotion"
        got = {
            row.name: (
                row.figures["uses"].value,
                row.figures["discount_given"].money[0].amount_minor,
                row.figures["revenue"].money[0].amount_minor,
            )
            for row in by.rows
        }
        assert got == truth  # names as keys: people see the promotion's name, never its id
        spring_row = next(row for row in by.rows if row.name == spring.name)
        assert spring_row.key == str(spring.id)
        assert f"promotion={spring.id}" in spring_row.drilldown["uses"].ui
        # The budget-left measure is cut by promotion too (its source is the promotions themselves).
        assert "budget_left" in by.measures

        # Every export shows the names.
        text = export.render(r, "csv").content.decode("utf-8-sig")
        cells = {c for row in csv.reader(io.StringIO(text)) for c in row}
        assert {spring.name, winter.name} <= cells


async def test_filter_by_one_promotion(db):
    async with db.sessionmaker.begin() as s:
        a, spring, winter = await _shop(s)
        r = await reports.build_report(
            s,
            function="promotions",
            edition="daily",
            day=None,
            branch_ids=[a.id],
            record_ids={Dimension.PROMOTION: winter.id},
        )
        assert _line(r, "uses").current.value == 1
        assert _line(r, "discount_given").current.money[0].amount_minor == 300
        assert r.filters.records["promotion"].name == winter.name
        assert f"promotion={winter.id}" in _line(r, "uses").drilldown.api
        by = next(b for b in r.breakdowns if b.dimension is Dimension.PROMOTION)
        assert [row.name for row in by.rows] == [winter.name]
        assert ("Promotion", winter.name) in export.header_rows(r)
        page = await reports.drilldown(
            s,
            function="promotions",
            measure="uses",
            edition="daily",
            day=None,
            branch_ids=[a.id],
            record_ids={Dimension.PROMOTION: spring.id},
        )
        assert len(page.items) == 2 and {i.fields["Promotion"] for i in page.items} == {spring.name}


async def test_rollups_leave_the_promotion_dimension_to_the_records(db):
    # A rollup row has no promotion column: a source that declares one is never read from them.
    assert rollups.covering(USES, [], reports.Filters()) is None


async def test_a_report_without_promotions_refuses_the_breakdown(db):
    async with db.sessionmaker.begin() as s:
        a, spring, _ = await _shop(s)
        with pytest.raises(Refused, match="This report cannot be broken down by promotion"):
            await reports.build_report(
                s,
                function="orders",
                edition="daily",
                day=None,
                branch_ids=[a.id],
                record_ids={Dimension.PROMOTION: spring.id},
            )


async def test_api_breaks_down_and_filters_by_promotion(db, settings):
    async with db.sessionmaker.begin() as s:
        a, spring, winter = await _shop(s)
        manager = await create_user(s, grants=[("manager", a.id)])
    client = await token_client(make_app(db, settings), db, manager)
    resp = await client.get(f"/api/v1/reports/promotions/daily?branch={a.id}")
    assert resp.status_code == 200, resp.text
    by = next(b for b in resp.json()["breakdowns"] if b["dimension"] == "promotion")
    assert {row["name"]: row["figures"]["uses"]["value"] for row in by["rows"]} == {
        spring.name: 2,
        winter.name: 1,
    }
    one = (await client.get(f"/api/v1/reports/promotions/daily?branch={a.id}&promotion={spring.id}")).json()
    assert (
        next(x for x in one["summary"] if x["measure"] == "discount_given")["current"]["display"]
        == "10.00 USD"
    )
    refused = await client.get(f"/api/v1/reports/orders/daily?branch={a.id}&promotion={spring.id}")
    assert refused.status_code == 409, refused.text
    assert "This report cannot be broken down by promotion" in refused.text
    missing = await client.get(f"/api/v1/reports/promotions/daily?branch={a.id}&promotion={9 * 10**17}")
    assert missing.status_code == 404, missing.text

    # The staff page: the picker and the breakdown by name, the filter kept in drilldown links.
    browser = await browser_client(make_app(db, settings), manager.username)
    page = await browser.get(f"/reports/promotions/daily?branch={a.id}&promotion={winter.id}")
    assert page.status_code == 200, page.text
    assert f"Promotion: {winter.name}" in page.text and f'<option value="{winter.id}" selected>' in page.text
    assert f"promotion={winter.id}&amp;measure=uses" in page.text
    refused_page = await browser.get(f"/reports/orders/daily?branch={a.id}&promotion={spring.id}")
    assert refused_page.status_code == 409 and "cannot be broken down by promotion" in refused_page.text


async def test_the_picker_lists_the_readers_promotions(db):
    """A manager of one branch picks among the promotions their branch owns or used, not every
    branch's: one owned by another branch shows only once it was used here."""
    from backroom.reports import catalog

    async with db.sessionmaker.begin() as s:
        here, there, (p,) = await make_shop(s, stock=((50, 0),), prices=(3000,))
        own_unused = await make_promotion(s, here, name=uniq("Not yet used "))
        theirs_used_here = await make_promotion(s, there, name=uniq("Chain-wide "))
        theirs = await make_promotion(s, there, name=uniq("Other branch "))
        await place_with(s, here, [(p.id, 1)], codes=[await promotions.shared_code(s, theirs_used_here.id)])

        async def names(branch_ids):
            got = await reports.filter_options(
                s, branch_ids=branch_ids, shift_ids=None, fr=catalog.get("promotions")
            )
            ((dim, _label, rows),) = got["records"]
            assert dim == Dimension.PROMOTION.value
            return {n for _, n in rows}

        mine = await names([here.id])
        assert {own_unused.name, theirs_used_here.name} <= mine and theirs.name not in mine
        assert {own_unused.name, theirs_used_here.name, theirs.name} <= await names([there.id, here.id])
