"""CreditHoldActivities.settle_hold: the held sale is posted once, its clerk told once."""

from sqlalchemy import select

from activities.credit_holds import CreditHoldActivities
from backroom.credit import ledger
from backroom.credit.models import CreditEntry
from backroom.notifications.models import Notification
from tests.custops_helpers import create_customer, staff
from tests.helpers import TEST_ACTOR, uniq


async def test_settle_twice_posts_once(act_env, deps, sqlite_db):
    db, people = sqlite_db, await staff(sqlite_db, roles=("finance", "clerk"))
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"], credit_limit_minor=1_000)
        acct = await ledger.open_account(s, actor=TEST_ACTOR, customer_id=cust.id)
        from backroom.audit.context import Actor

        clerk = Actor.user(people["clerk"].id, people["clerk"].full_name)
        res = await ledger.credit_sale(
            s, actor=clerk, customer_id=cust.id, amount_minor=5_000, currency="USD", reference=uniq("pos")
        )
    assert res.status == "held"
    acts = CreditHoldActivities(deps.sessionmaker)
    assert await act_env.run(acts.hold_fits, res.hold.id) is False
    assert await act_env.run(acts.settle_hold, res.hold.id, "approved") == "posted"
    assert await act_env.run(acts.settle_hold, res.hold.id, "approved") == "posted"
    async with db.read_sessionmaker() as s:
        sales = list(
            await s.scalars(
                select(CreditEntry).where(CreditEntry.account_id == acct.id, CreditEntry.kind == "sale")
            )
        )
        told = list(
            await s.scalars(
                select(Notification.to_user_id).where(
                    Notification.dedupe_key == f"credit-hold-{res.hold.id}:settled"
                )
            )
        )
    assert [e.amount_minor for e in sales] == [5_000]
    assert told == [people["clerk"].id]
