"""The marketplace report set counts what the vendor ledger, payouts and moderation queue hold:
GMV and commission from an order's lines, held payouts, the moderation backlog."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from backroom.catalog.schemas import ProductUpdate
from backroom.reports import service as reports
from backroom.vendors import payouts
from backroom.vendors import service as vendors
from backroom.vendors.schemas import CommissionRuleIn
from tests.helpers import TEST_ACTOR, create_branch, make_vendor, place, uniq, vendor_product


async def test_marketplace_report(fresh_db):
    db = fresh_db
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s, timezone="UTC")
        await vendors.set_rule(s, actor=TEST_ACTOR, data=CommissionRuleIn(percent_bp=1000))
        v = await make_vendor(s, branch=b)
        prod = await vendor_product(s, vendor=v, branch=b, price=3000)
    await place(db, b, [(prod.id, 2)])
    async with db.sessionmaker.begin() as s:
        await vendors.update_product(
            s, actor=TEST_ACTOR, vendor_id=v.id, product_id=prod.id, data=ProductUpdate(name="Renamed")
        )
        await vendors.adjust(
            s, actor=TEST_ACTOR, vendor_id=v.id, amount_minor=200_000, reason="x", key=uniq()
        )
        await payouts.create_payout(s, actor=TEST_ACTOR, run_key="w", vendor_id=v.id, approval_over_minor=100)
    today = datetime.now(ZoneInfo("UTC")).date()
    async with db.read_sessionmaker() as s:
        r = await reports.build_report(
            s, function="marketplace", edition="daily", day=today, branch_ids=[b.id]
        )
    got = {line.measure: line.current for line in r.summary}
    assert [(m.amount_minor, m.currency) for m in got["gmv"].money] == [(6000, "USD")]
    assert [m.amount_minor for m in got["commission"].money] == [600]
    # The sale is still inside its hold (not delivered): only the adjustment was payable.
    assert [m.amount_minor for m in got["held"].money] == [200_000]
    assert got["backlog"].value == 1
