"""Parcels record when their label was bought and voided: the shipping report counts by them."""

from __future__ import annotations

from datetime import UTC, datetime

from backroom.orders import service as orders
from tests.backroom.reports import records as r
from tests.helpers import TEST_ACTOR, create_branch


async def test_label_bought_and_voided_times_are_stamped(db):
    async with db.sessionmaker.begin() as session:
        branch = await create_branch(session)
        hats = await r.product(session, category="hats")
        o = await r.order(session, branch=branch, at=datetime.now(UTC), lines=[(hats, 1)])
        p = await r.parcel(session, order=o, at=datetime.now(UTC), status="packed", labelled_at=None)
        before = datetime.now(UTC)
        done = await orders.update_parcel(
            session, actor=TEST_ACTOR, parcel_id=p.id, to="labelled", allowed_from=("packed",), label_id="L1"
        )
        assert done.labelled_at >= before and done.voided_at is None
        voided = await orders.update_parcel(
            session, actor=TEST_ACTOR, parcel_id=p.id, to="voided", allowed_from=("labelled",)
        )
        assert voided.voided_at >= done.labelled_at and voided.labelled_at == done.labelled_at
