"""Enrolment by rule (first purchase, a segment) and birthday bonuses, with welcome and
birthday bonuses limited to a segment: on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from backroom.errors import InvalidInput
from backroom.loyalty import ledger
from backroom.loyalty import service as loyalty
from backroom.loyalty.models import LoyaltyMember
from backroom.loyalty.schemas import ProgramUpdate
from backroom.notifications.models import Notification
from backroom.segments import service as segments
from backroom.segments.schemas import Group, SegmentCreate
from tests.helpers import TEST_ACTOR, create_branch, create_customer, make_program, uniq

pytestmark = pytest.mark.parametrize("fresh_db", ["sqlite", "postgres"], indirect=True)


async def _tag_segment(s, tag):
    return await segments.create_segment(
        s,
        actor=TEST_ACTOR,
        data=SegmentCreate(
            name=uniq("Seg "),
            rules=Group.model_validate(
                {"join": "and", "conditions": [{"attr": "tag", "op": "is", "value": tag}]}
            ),
        ),
    )


async def _balance(s, customer_id):
    member = await loyalty.member_of(s, customer_id)
    return None if member is None else await ledger.balance(s, member.id)


async def test_first_purchase_enrols_by_rule_and_earns(fresh_db):
    async with fresh_db.sessionmaker.begin() as s:
        program = await make_program(s, enrol_rule="first_purchase", welcome_points=50)
        branch = await create_branch(s)
        customer = await create_customer(s, branch=branch, currency=program.currency)
        assert await loyalty.member_of(s, customer.id) is None
        await loyalty.earn(
            s,
            actor=TEST_ACTOR,
            customer_id=customer.id,
            spend_minor=12_000,
            source_type="credit_sale",
            source_id=uniq("sale"),
            branch_id=branch.id,
        )
        member = await loyalty.member_of(s, customer.id)
        assert member.enrolled_by == "rule" and member.consent_at is None
        assert await ledger.balance(s, member.id) == 50 + 120
    # A manual program does not enrol anyone on a purchase.
    async with fresh_db.sessionmaker.begin() as s:
        manual = await make_program(s)
        other = await create_customer(s, branch=branch, currency=manual.currency)
        got = await loyalty.earn(
            s,
            actor=TEST_ACTOR,
            customer_id=other.id,
            spend_minor=12_000,
            source_type="credit_sale",
            source_id=uniq("sale"),
            branch_id=branch.id,
        )
        assert got is None and await loyalty.member_of(s, other.id) is None


async def test_segment_rule_enrols_its_customers_nightly_and_bonuses_follow_the_bonus_segment(fresh_db):
    now = datetime(2026, 3, 14, 1, 30, tzinfo=UTC)
    async with fresh_db.sessionmaker.begin() as s:
        vip, fans = uniq("vip"), uniq("fan")
        enrol_seg = await _tag_segment(s, vip)
        bonus_seg = await _tag_segment(s, fans)
        with pytest.raises(InvalidInput, match="Choose the segment"):
            await make_program(s, enrol_rule="segment")
        program = await make_program(
            s,
            enrol_rule="segment",
            enrol_segment_id=enrol_seg.id,
            welcome_points=25,
            bonus_segment_id=bonus_seg.id,
        )
        branch = await create_branch(s)
        a = await create_customer(s, branch=branch, currency=program.currency, tags=[vip, fans])
        b = await create_customer(s, branch=branch, currency=program.currency, tags=[vip])
        c = await create_customer(s, branch=branch, currency=program.currency, tags=[fans])
    async with fresh_db.sessionmaker.begin() as s:
        after = 0
        while after := await loyalty.enrol_by_rule(s, actor=TEST_ACTOR, now=now, after_id=after, batch=1):
            pass
        # Run again: nobody is enrolled twice.
        assert await loyalty.enrol_by_rule(s, actor=TEST_ACTOR, now=now) is None
    async with fresh_db.read_sessionmaker() as s:
        assert await _balance(s, a.id) == 25  # in the bonus segment: welcome points
        assert await _balance(s, b.id) == 0  # enrolled, but outside the bonus segment
        assert await _balance(s, c.id) is None  # not in the enrolment segment
        members = (await s.scalars(select(LoyaltyMember).where(LoyaltyMember.program_id == program.id))).all()
        assert {m.enrolled_by for m in members} == {"rule"}


async def test_birthday_bonus_once_a_year_within_the_bonus_segment_and_29_february(fresh_db):
    async with fresh_db.sessionmaker.begin() as s:
        fans = uniq("fan")
        bonus_seg = await _tag_segment(s, fans)
        program = await make_program(s, birthday_points=200)
        branch = await create_branch(s)

        async def member(birthday, tags, consent=True):
            cust = await create_customer(
                s, branch=branch, currency=program.currency, tags=tags, consent_email=consent
            )
            await loyalty.enrol(
                s,
                actor=TEST_ACTOR,
                customer_id=cust.id,
                consent=True,
                birth_month=birthday[0],
                birth_day=birthday[1],
            )
            return cust

        today = await member((3, 14), [fans])
        leap = await member((2, 29), [fans], consent=False)
        other_day = await member((3, 15), [fans])
        outside = await member((3, 14), [])
        with pytest.raises(InvalidInput, match="not a day of the year"):
            await loyalty.set_birthday(s, actor=TEST_ACTOR, customer_id=today.id, birth_month=2, birth_day=30)
        await loyalty.update_program(
            s, actor=TEST_ACTOR, program_id=program.id, data=ProgramUpdate(bonus_segment_id=bonus_seg.id)
        )
    for day in (datetime(2026, 3, 14, 1, 30, tzinfo=UTC), datetime(2026, 2, 28, 1, 30, tzinfo=UTC)):
        for _ in range(2):  # a retried run changes nothing
            async with fresh_db.sessionmaker.begin() as s:
                after = 0
                while after := await loyalty.birthday_batch(s, actor=TEST_ACTOR, now=day, after_id=after):
                    pass
    async with fresh_db.read_sessionmaker() as s:
        assert await _balance(s, today.id) == 200
        assert await _balance(s, leap.id) == 200  # 28 February in a year without a 29th
        assert await _balance(s, other_day.id) == 0
        assert await _balance(s, outside.id) == 0  # not in the bonus segment
        card = await loyalty.card(s, today.id, now=datetime(2026, 3, 14, 2, tzinfo=UTC))
        assert card.birthday == "14 March"
        notes = (await s.scalars(select(Notification).where(Notification.kind == "loyalty_birthday"))).all()
        assert [n.to_customer_id for n in notes] == [today.id]  # consent respected
    # Next year, the bonus comes again.
    async with fresh_db.sessionmaker.begin() as s:
        await loyalty.birthday_batch(s, actor=TEST_ACTOR, now=datetime(2027, 3, 14, 1, 30, tzinfo=UTC))
    async with fresh_db.read_sessionmaker() as s:
        assert await _balance(s, today.id) == 400
