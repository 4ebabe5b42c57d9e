"""Signals queued by the customer-operations use cases reach their workflows after the request
commits: through the API, on the dev server with a worker."""

from sqlalchemy import select

from backroom.approvals.models import ApprovalRequest
from backroom.credit import ledger
from tests.helpers import (
    TEST_ACTOR,
    create_customer,
    eventually,
    make_app,
    outbox_poller,
    staff,
    token_client,
    uniq,
)
from worker.registry import Deps, build_worker


async def test_resolve_with_refund_and_payment_reach_their_workflows(db, settings, dev_env, task_queue):
    settings.task_queue = task_queue
    people = await staff(db, roles=("agent", "clerk", "finance"))
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"], credit_limit_minor=1_000)
        await ledger.open_account(s, actor=TEST_ACTOR, customer_id=cust.id)
    app = make_app(db, settings, temporal_client=dev_env.client)
    agent, clerk, finance = [await token_client(app, db, people[r]) for r in ("agent", "clerk", "finance")]
    async with (
        build_worker(
            dev_env.client, Deps(settings=settings, sessionmaker=db.sessionmaker), task_queue=task_queue
        ),
        outbox_poller(dev_env.client, db, task_queue),
    ):
        r = await agent.post(
            "/api/v1/complaints",
            json={
                "customer_id": cust.id,
                "channel": "phone",
                "category": "damaged",
                "severity": "high",
                "description": "Cracked lid",
            },
        )
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        r = await agent.post(
            f"/api/v1/complaints/{cid}/resolve",
            json={"outcome": "Refund agreed", "compensation": "refund", "amount_minor": 400},
        )
        assert r.status_code == 200 and r.json()["status"] == "resolved", r.text

        async def refund_asked():
            async with db.read_sessionmaker() as s:
                return await s.scalar(
                    select(ApprovalRequest).where(
                        ApprovalRequest.subject_type == "complaint", ApprovalRequest.subject_id == str(cid)
                    )
                )

        asked = await eventually(refund_asked)  # the `resolved` signal carried the refund
        assert asked.amount_minor == 400 and asked.requested_by_id == people["agent"].id

        base = f"/api/v1/customers/{cust.id}/credit"
        held = (
            await clerk.post(
                f"{base}/sales", json={"amount_minor": 1_500, "currency": "USD", "reference": uniq("s")}
            )
        ).json()
        assert held["status"] == "held", held
        r = await finance.post(
            f"{base}/payments", json={"amount_minor": 600, "currency": "USD", "reference": uniq("p")}
        )
        assert r.status_code == 201, r.text

        async def posted():
            async with db.read_sessionmaker() as s:
                hold = await ledger.get_hold(s, held["hold"]["id"])
                return hold if hold.status == "posted" else None

        # Generous: under a full suite on two cores the hold workflow's activities queue behind others.
        hold = await eventually(posted, timeout=60)  # `payment_posted` woke the hold: it fits now
        assert hold.resolution == "paid"
