"""Promotions on SQLite and PostgreSQL: what a code gives and why it is refused, the life of
a use (reserve, confirm, release, give back), single-use codes, the approval rule."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from backroom.carts.discounts import Basket
from backroom.carts.errors import CodeRefused
from backroom.db.base import utcnow
from backroom.orders import service as orders
from backroom.promotions import service as promotions
from backroom.promotions.errors import CodeTaken, PromotionWrongState
from backroom.promotions.models import Promotion, PromotionCode, Redemption
from backroom.promotions.schemas import PromotionUpdate
from backroom.starts.models import WorkflowStart
from tests.helpers import TEST_ACTOR, make_promotion, make_shop, place_with


async def _quote(s, branch, items, codes, **kw):
    refused: dict[str, str] = {}
    basket = Basket(branch_id=branch.id, currency="USD", lines=[], codes=tuple(codes), **kw)
    totals, _ = await orders.price_items(s, items, currency="USD", basket=basket, refused=refused)
    return totals, refused


async def test_a_code_discounts_the_basket_case_insensitively(db):
    async with db.sessionmaker.begin() as s:
        a, _b, (p1, p2) = await make_shop(s, stock=((50, 0),), prices=(2000, 500))
        promo = await make_promotion(s, a, percent_bp=1500, min_subtotal_minor=3000)
        code = await promotions.shared_code(s, promo.id)
        totals, refused = await _quote(s, a, [(p1.id, 2), (p2.id, 1)], [code])
        assert refused == {}
        assert totals.discount_minor == 675  # 15 % of 45.00
        assert [ln.discount_minor for ln in totals.lines] == [600, 75]
        assert totals.discounts[0].label == promo.name
        # Below the minimum the code stays out, with the reason in words.
        totals, refused = await _quote(s, a, [(p2.id, 1)], [code])
        assert totals.discount_minor == 0
        assert "at least 30.00 USD" in refused[code]
        # Placing an order with a code that does not apply refuses, changes nothing.
        with pytest.raises(CodeRefused, match=r"at least 30\.00 USD"):
            await place_with(s, a, [(p2.id, 1)], codes=[code])
        assert (await promotions.get_promotion(s, promo.id)).uses_count == 0


async def test_refusal_reasons(db):
    async with db.sessionmaker.begin() as s:
        a, b, (p1, p2) = await make_shop(s, stock=((50, 0),), prices=(2000, 500))
        now = utcnow()
        expired = await make_promotion(
            s, a, ends_at=now - timedelta(days=1), starts_at=now - timedelta(days=9)
        )
        later = await make_promotion(s, a, starts_at=now + timedelta(days=1))
        staff = await make_promotion(s, a, staff_only=True)
        elsewhere = await make_promotion(s, a, branch_ids=[b.id])
        socks = await make_promotion(
            s, a, target="products", product_ids=[p2.id], kind="fixed", amount_minor=300
        )
        paused = await make_promotion(s, a)
        await promotions.set_status(s, actor=TEST_ACTOR, promotion_id=paused.id, action="pause")
        codes = {
            name: await promotions.shared_code(s, p.id)
            for name, p in {
                "expired": expired,
                "later": later,
                "staff": staff,
                "elsewhere": elsewhere,
                "socks": socks,
                "paused": paused,
            }.items()
        }
        _, refused = await _quote(s, a, [(p1.id, 1)], [*codes.values(), "NOPE-123"])
        assert "expired" in refused[codes["expired"]]
        assert "not valid yet" in refused[codes["later"]]
        assert "only be used by staff" in refused[codes["staff"]]
        assert "not valid in this shop" in refused[codes["elsewhere"]]
        assert "None of the items" in refused[codes["socks"]]
        assert "not active" in refused[codes["paused"]]
        assert refused["NOPE-123"] == "The code NOPE-123 does not exist."
        # The staff-only code works at the staff counter; the product code on its product only.
        totals, refused = await _quote(
            s, a, [(p1.id, 1), (p2.id, 2)], [codes["staff"], codes["socks"]], channel="staff"
        )
        assert refused == {}
        # 10 % of 30.00 spread 2:1, then 3.00 off the socks line.
        assert [ln.discount_minor for ln in totals.lines] == [200, 100 + 300]


async def test_stacking_exclusive_and_priority(db):
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((50, 0),), prices=(10000,))
        first = await make_promotion(s, a, percent_bp=1000, priority=1)
        alone = await make_promotion(s, a, percent_bp=2000, priority=5, exclusive=True)
        ship = await make_promotion(s, a, kind="free_shipping", priority=9)
        c1, c2, c3 = [await promotions.shared_code(s, p.id) for p in (first, alone, ship)]
        totals, refused = await _quote(s, a, [(p1.id, 1)], [c2, c1])
        assert totals.discount_minor == 1000 and "cannot be combined" in refused[c2]
        # 10 % off 100.00 takes the order under the free-shipping threshold; the code waives it.
        totals, refused = await _quote(s, a, [(p1.id, 1)], [c1, c3])
        assert refused == {} and totals.shipping_minor == 0
        assert totals.discounts[1].shipping_minor > 0


async def test_buy_two_get_one_and_budget_cap(db):
    async with db.sessionmaker.begin() as s:
        a, _b, (p1, p2) = await make_shop(s, stock=((50, 0),), prices=(900, 600))
        b2g1 = await make_promotion(s, a, kind="buy_x_get_y", buy_qty=2, get_qty=1)
        capped = await make_promotion(
            s, a, kind="fixed", amount_minor=4000, budget_minor=500, usage_limit=None
        )
        code = await promotions.shared_code(s, b2g1.id)
        totals, _ = await _quote(s, a, [(p1.id, 2), (p2.id, 4)], [code])
        # 6 units -> 2 free, the cheapest two (6.00 each).
        assert totals.discount_minor == 1200
        totals, _ = await _quote(s, a, [(p1.id, 10)], [await promotions.shared_code(s, capped.id)])
        assert totals.discount_minor == 500  # the budget left caps it


async def test_life_of_a_use(db):
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((50, 0),), prices=(2000,))
        promo = await make_promotion(s, a, usage_limit=2, per_customer_limit=1, refund_returns_use=True)
        code = await promotions.shared_code(s, promo.id)
        o1 = await place_with(s, a, [(p1.id, 1)], codes=[code.lower()], email="ann@example.com")
        assert o1.discount_minor == 200
        promo = await promotions.get_promotion(s, promo.id)
        assert (promo.uses_count, promo.spent_minor) == (1, 200)
        # Once per customer (by e-mail for guests), case-insensitively.
        with pytest.raises(CodeRefused, match="already used"):
            await place_with(s, a, [(p1.id, 1)], codes=[code], email="ANN@example.com")
        o2 = await place_with(s, a, [(p1.id, 1)], codes=[code])
        with pytest.raises(CodeRefused, match="used up"):
            await place_with(s, a, [(p1.id, 1)], codes=[code])
        # Cancel gives the use back; capture confirms; a full refund returns it.
        await orders.set_status(
            s, actor=TEST_ACTOR, order_id=o1.id, status="cancelled", message="x", key=f"t{o1.id}c"
        )
        await orders.set_status(
            s, actor=TEST_ACTOR, order_id=o2.id, status="shipped", message="x", key=f"t{o2.id}s"
        )
        promo = await promotions.get_promotion(s, promo.id)
        await s.refresh(promo)
        assert (promo.uses_count, promo.confirmed_count, promo.spent_minor) == (1, 1, 200)
        stats = await promotions.stats(s, promo)
        assert stats.uses == 1 and stats.uses_left == 1 and stats.revenue_minor == o2.total_minor
        await orders.set_status(
            s, actor=TEST_ACTOR, order_id=o2.id, status="refunded", message="x", key=f"t{o2.id}r"
        )
        await s.refresh(promo)
        assert (promo.uses_count, promo.confirmed_count, promo.spent_minor) == (0, 0, 0)
        states = dict(
            (
                await s.execute(
                    select(Redemption.order_id, Redemption.status).where(Redemption.promotion_id == promo.id)
                )
            ).all()
        )
        assert states == {o1.id: "released", o2.id: "returned"}


async def test_unique_codes_are_single_use_and_export(db):
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((50, 0),), prices=(2000,))
        promo = await make_promotion(s, a, code_mode="unique", submit=False)
        assert (
            await promotions.generate_codes(s, actor=TEST_ACTOR, promotion_id=promo.id, count=25, prefix="x")
            == 25
        )
        await promotions.submit(s, actor=TEST_ACTOR, promotion_id=promo.id)
        codes = list(
            await s.scalars(select(PromotionCode.code).where(PromotionCode.promotion_id == promo.id))
        )
        assert len(set(codes)) == 25 and all(
            c.startswith("X") and not set(c[1:]) & set("01OIL") for c in codes
        )
        order = await place_with(s, a, [(p1.id, 1)], codes=[codes[0]])
        assert order.discount_minor == 200
        with pytest.raises(CodeRefused, match="already been used"):
            await place_with(s, a, [(p1.id, 1)], codes=[codes[0]])
        body = await promotions.export_codes(s, actor=TEST_ACTOR, promotion_id=promo.id)
        rows = list(csv.DictReader(io.StringIO(body)))
        assert len(rows) == 25
        assert {r["code"]: r["status"] for r in rows}[codes[0]] == "reserved"


async def test_approval_rule_and_changes(db):
    async with db.sessionmaker.begin() as s:
        a, _b, _ = await make_shop(s, stock=((1, 0),), prices=(100,))
        low = await make_promotion(s, a, percent_bp=1000)
        assert low.status == "active"
        high = await make_promotion(s, a, percent_bp=5000)
        assert high.status == "pending_approval" and "50 % off" in high.approval_note
        unlimited = await make_promotion(s, a, usage_limit=None)
        assert unlimited.status == "pending_approval" and "Unlimited" in unlimited.approval_note
        starts = list(
            await s.scalars(
                select(WorkflowStart.workflow_id).where(
                    WorkflowStart.workflow_id.like(f"promotion-{high.id}-%")
                )
            )
        )
        assert starts == [f"promotion-{high.id}-r1"]
        with pytest.raises(PromotionWrongState):
            await promotions.update_promotion(
                s, actor=TEST_ACTOR, promotion_id=high.id, data=PromotionUpdate(name="x y")
            )
        # A live promotion: a low-risk change applies at once, a risky one waits, terms unchanged.
        await promotions.update_promotion(
            s, actor=TEST_ACTOR, promotion_id=low.id, data=PromotionUpdate(percent_bp=1200)
        )
        await promotions.update_promotion(
            s, actor=TEST_ACTOR, promotion_id=low.id, data=PromotionUpdate(percent_bp=6000)
        )
        low = await s.get(Promotion, low.id, populate_existing=True)
        assert low.percent_bp == 1200 and low.proposed == {"percent_bp": 6000} and low.status == "active"
        with pytest.raises(CodeTaken):
            await make_promotion(s, a, code=await promotions.shared_code(s, low.id))


async def test_uses_follow_a_merged_customer_and_show_on_the_timeline(db):
    from backroom.customers import service as ops
    from tests.helpers import create_customer

    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((10, 0),), prices=(2000,))
        keep = await create_customer(s, branch=a)
        lose = await create_customer(s, branch=a)
        promo = await make_promotion(s, a, per_customer_limit=1)
        code = await promotions.shared_code(s, promo.id)
        await place_with(s, a, [(p1.id, 1)], codes=[code], customer_id=lose.id)
    async with db.sessionmaker.begin() as s:
        await ops.merge(s, actor=TEST_ACTOR, loser_id=lose.id, survivor_id=keep.id)
    async with db.read_sessionmaker() as s:
        items = await ops.timeline(s, customer_id=keep.id)
        assert any(i.kind == "coupon" and code in i.title and "-2.00 USD" in i.title for i in items)
    # The survivor inherits the use: once per customer still holds.
    async with db.sessionmaker.begin() as s:
        with pytest.raises(CodeRefused, match="already used"):
            await place_with(s, a, [(p1.id, 1)], codes=[code], customer_id=keep.id)
