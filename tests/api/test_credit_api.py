"""Credit account API: sales posted or held, payments, statement, aging, RBAC, validation."""

from datetime import timedelta

from backroom.credit import ledger
from backroom.db.base import utcnow
from tests.helpers import TEST_ACTOR, create_customer, make_app, staff, token_client, uniq


async def test_sale_payment_statement_aging(db, settings, dev_env):
    people = await staff(db, roles=("clerk", "finance", "agent"))
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"], credit_limit_minor=10_000)
    app = make_app(db, settings, temporal_client=dev_env.client)
    finance, clerk, agent = [await token_client(app, db, people[r]) for r in ("finance", "clerk", "agent")]
    base = f"/api/v1/customers/{cust.id}/credit"
    assert (await agent.post(base, json={})).status_code == 403
    r = await finance.post(base, json={"terms_days": 30, "grace_days": 5})
    assert r.status_code == 201 and r.json()["available_minor"] == 10_000
    r = await clerk.post(
        f"{base}/sales", json={"amount_minor": 6_000, "currency": "USD", "reference": uniq("pos")}
    )
    assert r.json()["status"] == "posted"
    r = await clerk.post(
        f"{base}/sales", json={"amount_minor": 6_000, "currency": "USD", "reference": uniq("pos")}
    )
    held = r.json()
    assert held["status"] == "held" and held["hold"]["workflow_id"].startswith("credit-hold-")
    acct = (await clerk.get(base)).json()
    assert acct["balance_minor"] == 6_000 and acct["available_minor"] == 4_000  # the held sale is not posted
    assert (
        await agent.post(
            f"{base}/payments", json={"amount_minor": 1, "currency": "USD", "reference": uniq("p")}
        )
    ).status_code == 403
    r = await finance.post(
        f"{base}/payments", json={"amount_minor": 2_500, "currency": "USD", "reference": uniq("p")}
    )
    assert r.status_code == 201 and r.json()["balance_after_minor"] == 3_500
    bad = await finance.post(
        f"{base}/payments", json={"amount_minor": -5, "currency": "usd", "reference": "x"}
    )
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} == {
        "amount_minor",
        "currency",
    }
    eur = await finance.post(
        f"{base}/payments", json={"amount_minor": 5, "currency": "EUR", "reference": uniq("p")}
    )
    assert eur.status_code == 409 and eur.json()["code"] == "currency_mismatch"
    st = (await clerk.get(f"{base}/statement")).json()
    assert st["opening_minor"] == 0 and st["closing_minor"] == 3_500 and len(st["entries"]) == 2
    ag = (await clerk.get(f"{base}/aging")).json()
    assert ag["buckets"]["current"] == 3_500 and ag["total_minor"] == 3_500


async def test_aging_buckets_fifo(db):
    people = await staff(db, roles=("finance",))
    now = utcnow()
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"], credit_limit_minor=10**9)
        acct = await ledger.open_account(s, actor=TEST_ACTOR, customer_id=cust.id, terms_days=30)

        async def post(kind, amount, days_ago):
            await ledger.post_entry(
                s,
                actor=TEST_ACTOR,
                account_id=acct.id,
                kind=kind,
                amount_minor=amount,
                currency="USD",
                reference=uniq(kind),
                occurred_at=now - timedelta(days=days_ago),
            )

        await post("sale", 1_000, 150)  # 120 days past due
        await post("sale", 2_000, 80)  # 50 days past due
        await post("sale", 3_000, 45)  # 15 days past due
        await post("sale", 4_000, 5)  # current
        await post("payment", 1_500, 1)  # pays the oldest first: all of 1,000 and 500 of the next
        ag = await ledger.aging(s, account_id=acct.id, as_of=now)
    assert ag["buckets"] == {"current": 4_000, "1-30": 3_000, "31-60": 1_500, "61-90": 0, "90+": 0}
    assert ag["total_minor"] == 8_500
