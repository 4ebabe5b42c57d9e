"""Property tests: the ledger always sums to the balance, and available credit goes below zero
only through an approved hold."""

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select

from backroom.credit import ledger
from backroom.credit.models import CreditEntry, CreditHold
from tests.helpers import TEST_ACTOR, create_branch, create_customer, uniq

# (operation, amount); adjustments here are credits (a debit adjustment is a finance override,
# like an approval, and is covered by the sum property only).
OPS = st.lists(
    st.tuples(
        st.sampled_from(["sale", "payment", "goodwill", "adjustment", "approve", "reject"]),
        st.integers(min_value=1, max_value=5_000),
    ),
    min_size=1,
    max_size=25,
)


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS, limit=st.integers(min_value=0, max_value=20_000))
async def test_ledger_sums_to_balance_and_available_stays_non_negative(sqlite_db, ops, limit):
    async with sqlite_db.sessionmaker.begin() as s:
        branch = await create_branch(s)
        cust = await create_customer(s, branch=branch, credit_limit_minor=limit)
        acct = await ledger.open_account(s, actor=TEST_ACTOR, customer_id=cust.id)
        approved_over = False
        for kind, amount in ops:
            if kind == "sale":
                await ledger.credit_sale(
                    s,
                    actor=TEST_ACTOR,
                    customer_id=cust.id,
                    amount_minor=amount,
                    currency="USD",
                    reference=uniq("s"),
                )
            elif kind in ("approve", "reject"):
                hold = await s.scalar(
                    select(CreditHold)
                    .where(CreditHold.account_id == acct.id, CreditHold.status == "pending")
                    .limit(1)
                )
                if hold:
                    await ledger.settle_hold(
                        s,
                        actor=TEST_ACTOR,
                        hold_id=hold.id,
                        resolution="approved" if kind == "approve" else "rejected",
                    )
                    approved_over |= kind == "approve"
            else:
                signed = -amount if kind == "adjustment" else amount
                await ledger.post_entry(
                    s,
                    actor=TEST_ACTOR,
                    account_id=acct.id,
                    kind=kind,
                    amount_minor=signed,
                    currency="USD",
                    reference=uniq("e"),
                )
            total = await s.scalar(
                select(func.coalesce(func.sum(CreditEntry.amount_minor), 0)).where(
                    CreditEntry.account_id == acct.id
                )
            )
            v = await ledger.get_view(s, acct.id)
            assert total == v.balance_minor
            # FIFO aging accounts for every minor unit of the balance.
            assert (await ledger.aging(s, account_id=acct.id))["total_minor"] == v.balance_minor
            if not approved_over:
                assert v.available_minor >= 0
