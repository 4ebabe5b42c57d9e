"""A promotion for a customer segment: membership is the segment's rules evaluated at the
moment of pricing (not the nightly snapshot), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from backroom.carts.errors import CodeRefused
from backroom.errors import InvalidInput, NotFound
from backroom.promotions import service as promotions
from backroom.promotions.schemas import PromotionUpdate
from backroom.segments import service as segments
from backroom.segments.schemas import Group, SegmentCreate
from tests.backroom.promotions.test_service import _quote
from tests.helpers import TEST_ACTOR, create_customer, make_promotion, make_shop, place_with, uniq


async def _vip_segment(s, tag: str):
    return await segments.create_segment(
        s,
        actor=TEST_ACTOR,
        data=SegmentCreate(
            name=uniq("VIP "),
            rules=Group.model_validate(
                {"join": "and", "conditions": [{"attr": "tag", "op": "is", "value": tag}]}
            ),
        ),
    )


async def test_a_segment_promotion_applies_to_members_only_and_follows_live_membership(db):
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((50, 0),), prices=(2000,))
        tag = uniq("vip")
        seg = await _vip_segment(s, tag)
        member = await create_customer(s, branch=a, tags=[tag])
        other = await create_customer(s, branch=a, tags=["regular"])
        promo = await make_promotion(s, a, percent_bp=1000, eligibility="segment", segment_id=seg.id)
        code = await promotions.shared_code(s, promo.id)

        totals, refused = await _quote(s, a, [(p1.id, 1)], [code], customer_id=member.id)
        assert refused == {} and totals.discount_minor == 200
        totals, refused = await _quote(s, a, [(p1.id, 1)], [code], customer_id=other.id)
        assert totals.discount_minor == 0
        assert refused[code] == f"The code {code} is not for this customer."
        _, refused = await _quote(s, a, [(p1.id, 1)], [code])
        assert "tell us who you are" in refused[code]
        with pytest.raises(CodeRefused, match="not for this customer"):
            await place_with(s, a, [(p1.id, 1)], codes=[code], customer_id=other.id)

        # The other customer gets the tag: the very next quote lets them in (no snapshot run).
        other.tags = [tag]
        await s.flush()
        totals, refused = await _quote(s, a, [(p1.id, 1)], [code], customer_id=other.id)
        assert refused == {} and totals.discount_minor == 200
        order = await place_with(s, a, [(p1.id, 1)], codes=[code], customer_id=other.id)
        assert order.discount_minor == 200
        # ... and a member who loses the tag is out at once.
        member.tags = []
        await s.flush()
        _, refused = await _quote(s, a, [(p1.id, 1)], [code], customer_id=member.id)
        assert refused[code] == f"The code {code} is not for this customer."


async def test_a_segment_promotion_needs_an_existing_segment(db):
    async with db.sessionmaker.begin() as s:
        a, _b, _products = await make_shop(s)
        with pytest.raises(InvalidInput, match="Choose the customer segment"):
            await make_promotion(s, a, eligibility="segment")
        with pytest.raises(NotFound, match="does not exist"):  # a missing record: 404
            await make_promotion(
                s, a, eligibility="segment", segment_id=9 * 10**17
            )  # past every test sequence
        promo = await make_promotion(s, a)
        with pytest.raises(InvalidInput, match="Choose the customer segment"):
            await promotions.update_promotion(
                s, actor=TEST_ACTOR, promotion_id=promo.id, data=PromotionUpdate(eligibility="segment")
            )
