"""Property tests of the points ledger over random sequences of earn, redeem, refund, cancel
and the passing of time (with the daily expiry run), on real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import aliased

from backroom.loyalty import ledger
from backroom.loyalty.errors import NotEnoughPoints
from backroom.loyalty.models import EntryKind, LoyaltyEntry
from tests.helpers import make_member, make_program

EXPIRY_DAYS = 10
ORDERS = 4

step = st.one_of(
    st.tuples(st.just("earn"), st.integers(1, 300), st.integers(0, ORDERS - 1)),
    st.tuples(st.just("redeem"), st.integers(1, 400), st.integers(0, ORDERS - 1)),
    st.tuples(st.just("refund"), st.just(0), st.integers(0, ORDERS - 1)),
    st.tuples(st.just("partial"), st.integers(1, 3), st.integers(0, ORDERS - 1)),  # qty/4 refunded
    st.tuples(st.just("cancel"), st.just(0), st.integers(0, ORDERS - 1)),
    st.tuples(st.just("wait"), st.integers(1, 8), st.just(0)),
)


async def check_invariants(session, member, now) -> None:
    bal = await ledger.balance(session, member.id)
    assert bal >= 0, "the balance went negative"
    unexpired = sum(r for _, r in await ledger.open_awards(session, member.id, now))
    assert bal == unexpired, "balance differs from the unexpired, unredeemed awards"
    # No award is ever over-consumed, and no expired award keeps points after the run.
    awards = (
        await session.scalars(
            select(LoyaltyEntry).where(
                LoyaltyEntry.member_id == member.id, LoyaltyEntry.award_id.is_(None), LoyaltyEntry.points > 0
            )
        )
    ).all()
    for a in awards:
        remaining = a.points + sum(
            (await session.scalars(select(LoyaltyEntry.points).where(LoyaltyEntry.award_id == a.id))).all()
        )
        assert 0 <= remaining <= a.points
        if a.expires_at <= now:
            assert remaining == 0, "an expired award still counts"
    # An expired point is never redeemed: every redemption took from an award still valid then.
    award = aliased(LoyaltyEntry)
    late = await session.scalar(
        select(LoyaltyEntry.id)
        .join(award, award.id == LoyaltyEntry.award_id)
        .where(
            LoyaltyEntry.member_id == member.id,
            LoyaltyEntry.kind == EntryKind.redeem,
            award.expires_at <= LoyaltyEntry.at,
        )
    )
    assert late is None, "a redemption took expired points"
    # Claw-backs (partial or whole, repeated) never take back more than a purchase earned.
    for source_id in {a.source_id for a in awards}:
        src = (LoyaltyEntry.member_id == member.id, LoyaltyEntry.source_id == source_id)
        earned = sum(a.points for a in awards if a.source_id == source_id)
        back = await session.execute(
            select(LoyaltyEntry.points, LoyaltyEntry.owed_points).where(
                *src, LoyaltyEntry.kind == EntryKind.reverse
            )
        )
        clawed = sum(-p if p < 0 else 0 for p, _ in back.all()) + sum(
            (await session.scalars(select(LoyaltyEntry.owed_points).where(*src))).all()
        )
        assert clawed <= earned, "a claw-back took more than the purchase earned"


def property_test(db, loop):
    """Hypothesis drives from a thread; each example runs on the test's event loop (where the
    database engine lives)."""

    @settings(
        max_examples=40 if db.kind == "sqlite" else 20,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(steps=st.lists(step, min_size=1, max_size=18))
    def run(steps) -> None:
        asyncio.run_coroutine_threadsafe(example(steps), loop).result()

    async def example(steps) -> None:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        async with db.sessionmaker.begin() as session:
            program = await make_program(session, expiry_days=EXPIRY_DAYS)
            _, member = await make_member(session, program)
            debt_expected = 0
            for n, (op, qty, order) in enumerate(steps):
                src = {"source_type": "order", "source_id": f"{member.id}-{order}"}
                if op == "earn":
                    await ledger.award(
                        session, member, points=qty, kind=EntryKind.earn, expiry_days=EXPIRY_DAYS,
                        key=f"earn:{member.id}:{n}", now=now, **src,
                    )  # fmt: skip
                elif op == "redeem":
                    before = await ledger.balance(session, member.id)
                    try:
                        await ledger.take(
                            session, member, points=qty, kind=EntryKind.redeem, key=f"redeem:{member.id}:{n}",
                            now=now, **src,
                        )  # fmt: skip
                    except NotEnoughPoints:
                        assert qty > before
                        assert await ledger.balance(session, member.id) == before
                elif op == "refund":
                    debt_before = member.debt_points
                    taken, debt = await ledger.claw_back(
                        session, member, key=f"claw:{member.id}:{n}", now=now, **src
                    )
                    assert taken >= 0
                    assert member.debt_points == debt_before + debt
                    debt_expected += debt
                elif op == "partial":
                    debt_before = member.debt_points
                    taken, debt = await ledger.claw_back(
                        session, member, share=(qty, 4), key=f"part:{member.id}:{n}", now=now, **src
                    )
                    assert taken >= 0 and member.debt_points == debt_before + debt
                elif op == "cancel":
                    await ledger.give_back(session, member, key=f"back:{member.id}:{n}", now=now, **src)
                else:
                    now += timedelta(days=qty)
                    await ledger.expire_due(session, member, now)
                await check_invariants(session, member, now)
            assert member.debt_points >= 0
            # A repeated expiry run (a retried activity) changes nothing.
            bal = await ledger.balance(session, member.id)
            await ledger.expire_due(session, member, now)
            assert await ledger.balance(session, member.id) == bal

    return run


async def test_ledger_invariants_hold_over_random_sequences(db):
    await asyncio.to_thread(property_test(db, asyncio.get_running_loop()))


async def test_fifo_takes_the_oldest_expiry_first_and_claw_back_records_debt(db):
    now = datetime(2026, 3, 1, tzinfo=UTC)
    async with db.sessionmaker.begin() as session:
        program = await make_program(session, expiry_days=30)
        _, member = await make_member(session, program)
        old = await ledger.award(
            session, member, points=100, kind=EntryKind.earn, expiry_days=10, key=f"t:{member.id}:a", now=now,
            source_type="order", source_id="A",
        )  # fmt: skip
        new = await ledger.award(
            session, member, points=100, kind=EntryKind.earn, expiry_days=30, key=f"t:{member.id}:b", now=now,
            source_type="order", source_id="B",
        )  # fmt: skip
        assert await ledger.take(
            session, member, points=150, kind=EntryKind.redeem, key=f"t:{member.id}:r", now=now,
            source_type="order", source_id="C",
        ) == 150  # fmt: skip
        left = {a.id: r for a, r in await ledger.open_awards(session, member.id, now)}
        assert left == {new.id: 50}  # the older award went first, whole
        assert old.id not in left
        # Order A (whose 100 points were spent) is refunded: 50 come from B, 50 become debt.
        taken, debt = await ledger.claw_back(
            session, member, source_type="order", source_id="A", key=f"t:{member.id}:claw", now=now
        )
        assert (taken, debt) == (50, 50)
        assert await ledger.balance(session, member.id) == 0
        assert member.debt_points == 50
        # The next award pays the debt first.
        await ledger.award(
            session, member, points=80, kind=EntryKind.earn, expiry_days=30, key=f"t:{member.id}:c", now=now
        )
        assert member.debt_points == 0
        assert await ledger.balance(session, member.id) == 30
        # Cancelling order C gives its 150 points back to the awards they came from.
        assert await ledger.give_back(
            session, member, source_type="order", source_id="C", key=f"t:{member.id}:back", now=now
        ) == 150  # fmt: skip
        # Again: nothing more.
        assert await ledger.give_back(
            session, member, source_type="order", source_id="C", key=f"t:{member.id}:back", now=now
        ) == 0  # fmt: skip
