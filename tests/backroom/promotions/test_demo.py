"""The demo seed gives coupons and abandoned carts something to show: two live promotions,
one waiting for approval (its workflow queued), abandoned carts with reminders, one recovered."""

from sqlalchemy import func, select

from backroom.promotions.models import Promotion
from backroom.recovery.models import CartRecovery, CartReminder
from backroom.seed import seed_demo
from backroom.starts.models import WorkflowStart


async def test_demo_promotions_and_abandoned_carts(fresh_db):
    for _ in range(2):  # idempotent
        async with fresh_db.sessionmaker.begin() as s:
            await seed_demo(s)
    async with fresh_db.read_sessionmaker() as s:
        status = dict((await s.execute(select(Promotion.name, Promotion.status))).all())
        assert status["Winter 15"] == status["Free shipping weekend"] == "active"
        assert status["Half price lighting"] == "pending_approval"
        assert await s.scalar(
            select(WorkflowStart.id).where(WorkflowStart.workflow_type == "PromotionApprovalWorkflow")
        )
        recs = list(await s.scalars(select(CartRecovery).where(CartRecovery.abandoned_at.is_not(None))))
        assert len(recs) == 4 and sum(r.recovered_at is not None for r in recs) == 1
        recovered = next(r for r in recs if r.recovered_at)
        assert (
            recovered.recovered_order_id and recovered.recovered_step == 2 and recovered.recovered_minor > 0
        )
        assert await s.scalar(select(func.count()).select_from(CartReminder)) == 8
