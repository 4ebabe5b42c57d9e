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


async def test_vendors_fulfilment_time_and_late_shipments(fresh_db):
    """Fulfilment by vendor: parcels shipped, the average time from order to shipped, those
    shipped later than VENDOR_SHIP_DAYS (3) after the order (counted, and listed as the
    period's exceptions by vendor name), and the report's breakdown by vendor."""
    from datetime import timedelta

    from backroom.db.base import utcnow
    from backroom.orders import service as orders
    from backroom.orders.models import Parcel

    db = fresh_db
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s, timezone="UTC")
        quick = await make_vendor(s, branch=b, name=uniq("Quick "))
        slow = await make_vendor(s, branch=b, name=uniq("Slow "))
        pq = await vendor_product(s, vendor=quick, branch=b)
        ps = await vendor_product(s, vendor=slow, branch=b)
    order = await place(db, b, [(pq.id, 1), (ps.id, 1)])
    now = utcnow()
    async with db.sessionmaker.begin() as s:
        for p in await orders.parcels_of(s, order.id):
            row = await s.get(Parcel, p.id)
            row.created_at = now - timedelta(days=1 if p.vendor_id == quick.id else 5)
            row.shipped_at, row.status = now, "shipped"
    async with db.read_sessionmaker() as s:
        report = await reports.build_report(
            s, function="marketplace", edition="daily", day=None, branch_ids=[b.id]
        )
    got = {x.measure: x.current.value for x in report.summary}
    assert (got["shipped"], got["late"], got["late_rate"]) == (2, 1, 0.5)
    assert abs(got["time_to_ship"] - 3 * 86400) < 1  # (1 day + 5 days) / 2
    by_vendor = next(x for x in report.breakdowns if x.dimension == "category")
    assert by_vendor.label == "By vendor"
    late_by = {r.name: r.figures["late"].value for r in by_vendor.rows if "late" in r.figures}
    assert (late_by[quick.name], late_by[slow.name]) == (0, 1)
    late = [e for e in report.exceptions if e.kind == "shipped_late"]
    assert len(late) == 1 and late[0].description.startswith(f"{slow.name}: order #{order.id}")
