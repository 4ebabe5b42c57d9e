"""The promotions and abandoned-carts report sets count what happened, on SQLite and PostgreSQL."""

from __future__ import annotations

from backroom.carts import service as carts
from backroom.db.base import utcnow
from backroom.orders import service as orders
from backroom.promotions import service as promotions
from backroom.recovery.models import CartRecovery, CartReminder
from backroom.reports import service as reports
from tests.helpers import TEST_ACTOR, make_promotion, make_shop, place_with


def line(report, name):
    return next(x for x in report.summary if x.measure == name)


async def test_promotions_report(db):
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((20, 0),), prices=(3000,))
        promo = await make_promotion(s, a, kind="fixed", amount_minor=500)
        code = await promotions.shared_code(s, promo.id)
        kept = await place_with(s, a, [(p1.id, 1)], codes=[code])
        gone = await place_with(s, a, [(p1.id, 2)], codes=[code])
        await place_with(s, a, [(p1.id, 1)])  # no code: not counted
        await orders.set_status(
            s, actor=TEST_ACTOR, order_id=gone.id, status="cancelled", message="x", key=f"r{gone.id}"
        )
        r = await reports.build_report(s, function="promotions", edition="daily", day=None, branch_ids=[a.id])
        assert line(r, "uses").current.value == 1
        assert line(r, "discount_given").current.money[0].amount_minor == 500
        assert line(r, "revenue").current.money[0].amount_minor == kept.total_minor
        assert line(r, "released").current.value == 1


async def test_abandoned_carts_report(db):
    async with db.sessionmaker.begin() as s:
        a, _b, _ = await make_shop(s, stock=((1, 0),), prices=(100,))
        now = utcnow()
        ids = []
        for total, recovered_step in ((4000, 2), (2500, None)):
            cart = await carts.create_cart(
                s, actor=TEST_ACTOR, branch_id=a.id, currency="USD", session_key=None
            )
            cart.total_minor = total
            ids.append(cart.id)
            s.add(
                CartRecovery(
                    cart_id=cart.id,
                    branch_id=a.id,
                    currency="USD",
                    value_minor=total,
                    abandoned_at=now,
                    reminders_sent=2,
                    last_step=2,
                    recovered_at=now if recovered_step else None,
                    recovered_step=recovered_step,
                    recovered_minor=4300 if recovered_step else 0,
                )
            )
            for step in (1, 2):
                s.add(
                    CartReminder(
                        cart_id=cart.id,
                        branch_id=a.id,
                        key=f"k{cart.id}-{step}",
                        step=step,
                        sent=True,
                        at=now,
                    )
                )
        await s.flush()
        r = await reports.build_report(
            s, function="abandoned_carts", edition="daily", day=None, branch_ids=[a.id]
        )
        assert line(r, "abandoned").current.value == 2
        assert line(r, "abandoned_value").current.money[0].amount_minor == 6500
        assert line(r, "reminders").current.value == 4
        assert line(r, "recovered").current.value == 1
        assert line(r, "recovered_revenue").current.money[0].amount_minor == 4300
        assert line(r, "rate_2").current.value == 0.5
        assert line(r, "rate_1").current.value == 0
