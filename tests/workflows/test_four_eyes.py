"""FourEyesWorkflow (issue 14, item 3) on the time-skipping server: a customer merge or erasure,
a credit adjustment above the branch's threshold, a stock write-off and a price change above the
percentage are requested by one person and applied by the workflow only once another approves;
the requester's own approval is refused by the gate's validator; a rejection changes nothing."""

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError

from backroom.approvals.schemas import Decision
from backroom.audit.context import Actor
from backroom.catalog import service as catalog
from backroom.catalog.models import Product, StockLevel
from backroom.catalog.schemas import ProductUpdate
from backroom.controls.flow import FourEyesInput
from backroom.controls.models import GatedAction
from backroom.credit import ledger
from backroom.credit import service as credit
from backroom.credit.schemas import Adjustment
from backroom.customers import service as customers
from backroom.customers.models import Customer
from backroom.starts.models import WorkflowStart
from tests.helpers import (
    TEST_ACTOR,
    approval_for,
    create_branch,
    create_customer,
    create_user,
    decide_as,
    make_shop,
    running_worker,
)
from workflows.four_eyes import FourEyesWorkflow


@pytest.fixture
async def world(sqlite_db, settings):
    async with sqlite_db.sessionmaker.begin() as s:
        _a, b, (product,) = await make_shop(s, stock=((0, 10),), prices=(10_000,))
        people = {
            role: [
                await create_user(s, grants=[(role, b.id)], full_name=f"{role.title()} {n}") for n in (1, 2)
            ]
            for role in ("manager", "finance")
        }
        loser = await create_customer(s, branch=b)
        survivor = await create_customer(s, branch=b)
        await ledger.open_account(s, actor=TEST_ACTOR, customer_id=survivor.id)
    settings.shop_branch_code = b.code  # price requests are decided in the selling branch
    return {"branch": b, "product": product, "people": people, "loser": loser, "survivor": survivor}


def as_user(user) -> Actor:
    return Actor.user(user.id, user.full_name)


async def start(db, env, task_queue, row: GatedAction):
    async with db.read_sessionmaker() as s:
        queued = await s.scalar(select(WorkflowStart).where(WorkflowStart.workflow_id == row.workflow_id))
    return await env.client.start_workflow(
        FourEyesWorkflow.run,
        FourEyesInput.model_validate(queued.args),
        id=row.workflow_id,
        task_queue=task_queue,
    )


async def request(kind, s, w, settings, who):
    """Ask for the action `kind` as `who`; returns the request row."""
    b, product = w["branch"], w["product"]
    if kind == "customer_merge":
        return await customers.request_merge(
            s, actor=as_user(who), loser_id=w["loser"].id, survivor_id=w["survivor"].id, hours=48
        )
    if kind == "customer_erasure":
        return await customers.request_erasure(
            s, actor=as_user(who), customer_id=w["loser"].id, reason="Asked by e-mail", hours=48
        )
    if kind == "credit_adjustment":
        data = Adjustment(
            kind="adjustment",
            amount_minor=-50_000,
            currency="USD",
            reference="adj-big",
            description="Write off debt",
        )
        return await credit.adjust_or_request(
            s, customer_id=w["survivor"].id, data=data, actor=as_user(who), settings=settings
        )
    if kind == "stock_writeoff":
        return await catalog.adjust_or_request(
            s,
            actor=as_user(who),
            product_id=product.id,
            branch_id=b.id,
            delta=-4,
            reason="Water damage",
            settings=settings,
        )
    product, req = await catalog.update_or_request(
        s, actor=as_user(who), product_id=product.id, data=ProductUpdate(price_minor=5_000), settings=settings
    )
    return req


async def applied(kind, s, w) -> bool:
    """Whether the action's change is in the database."""
    if kind == "customer_merge":
        return (await s.get(Customer, w["loser"].id)).merged_into_id == w["survivor"].id
    if kind == "customer_erasure":
        return (await s.get(Customer, w["loser"].id)).status == "erased"
    if kind == "credit_adjustment":
        return (await ledger.account_for(s, w["survivor"].id)).balance_minor == -50_000
    if kind == "stock_writeoff":
        level = await s.scalar(select(StockLevel).where(StockLevel.product_id == w["product"].id))
        return level.on_hand == 6
    return (await s.get(Product, w["product"].id)).price_minor == 5_000


KINDS = ["customer_merge", "customer_erasure", "credit_adjustment", "stock_writeoff", "price_change"]
APPROVER = {"credit_adjustment": "finance"}


@pytest.mark.parametrize("kind", KINDS)
async def test_a_second_person_approves_then_the_workflow_applies(
    kind, sqlite_db, settings, ts_env, task_queue, world, save_history
):
    db, w = sqlite_db, world
    first, second = w["people"][APPROVER.get(kind, "manager")]
    async with db.sessionmaker.begin() as s:
        row = await request(kind, s, w, settings, first)
        assert isinstance(row, GatedAction) and row.status == "pending"
    async with db.read_sessionmaker() as s:
        assert not await applied(kind, s, w)  # nothing changes on request
    async with running_worker(ts_env, settings, db, task_queue) as handles:
        handle = await start(db, ts_env, task_queue, row)
        handles.append(handle)
        req = await approval_for(db, handle.id)
        assert req.roles == APPROVER.get(kind, "manager") and req.requested_by_id == first.id
        # The requester cannot approve: the gate's validator refuses it (the inbox refuses first).
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                "decide",
                Decision(request_id=req.id, approve=True, user_id=first.id, user_name=first.full_name),
            )
        assert "own request" in str(refused.value.cause)
        assert (await decide_as(db, ts_env.client, req, second)).status == "approved"
        assert await handle.result() == "applied"
        if kind == "customer_merge":
            await save_history(handle, "four_eyes_merge_applied")
    async with db.read_sessionmaker() as s:
        assert await applied(kind, s, w)
        done = await s.get(GatedAction, row.id)
    assert (done.status, done.decided_by_id) == ("applied", second.id)


async def test_a_rejection_changes_nothing(sqlite_db, settings, ts_env, task_queue, world):
    db, w = sqlite_db, world
    first, second = w["people"]["manager"]
    async with db.sessionmaker.begin() as s:
        row = await request("customer_erasure", s, w, settings, first)
    async with running_worker(ts_env, settings, db, task_queue) as handles:
        handle = await start(db, ts_env, task_queue, row)
        handles.append(handle)
        assert (
            await decide_as(db, ts_env.client, await approval_for(db, handle.id), second, approve=False)
        ).status == "rejected"
        assert await handle.result() == "rejected"
    async with db.read_sessionmaker() as s:
        assert not await applied("customer_erasure", s, w)
        assert (await s.get(GatedAction, row.id)).status == "rejected"


async def test_small_adjustments_write_offs_and_price_moves_apply_at_once(sqlite_db, settings, world):
    db, w = sqlite_db, world
    who = w["people"]["manager"][0]
    settings.approval_thresholds_by_branch = {w["branch"].code: {"stock_writeoff_approval_over_units": 5}}
    async with db.sessionmaker.begin() as s:
        entry = await credit.adjust_or_request(
            s,
            customer_id=w["survivor"].id,
            data=Adjustment(
                kind="adjustment",
                amount_minor=-500,
                currency="USD",
                reference="adj-small",
                description="Rounding",
            ),
            actor=as_user(who),
            settings=settings,
        )
        level = await catalog.adjust_or_request(
            s,
            actor=as_user(who),
            product_id=w["product"].id,
            branch_id=w["branch"].id,
            delta=-3,
            reason="Broken",
            settings=settings,
        )
        product, req = await catalog.update_or_request(
            s,
            actor=as_user(who),
            product_id=w["product"].id,
            data=ProductUpdate(price_minor=11_000),
            settings=settings,
        )
    assert entry.amount_minor == -500 and level.on_hand == 7
    assert req is None and product.price_minor == 11_000
    async with db.read_sessionmaker() as s:
        assert not list(
            (await s.execute(select(GatedAction).where(GatedAction.branch_id == w["branch"].id))).scalars()
        )


async def test_a_second_branch_uses_its_own_threshold(sqlite_db, settings):
    async with sqlite_db.sessionmaker.begin() as s:
        b = await create_branch(s)
        other = await create_branch(s)
    settings.credit_adjustment_approval_over_minor = 10_000
    settings.approval_thresholds_by_branch = {b.code: {"credit_adjustment_approval_over_minor": 100}}
    from backroom.controls import thresholds

    assert thresholds.threshold(settings, "credit_adjustment_approval_over_minor", b.code) == 100
    assert thresholds.threshold(settings, "credit_adjustment_approval_over_minor", other.code) == 10_000
    # A product's price is the same in every branch: its threshold is chain-wide.
    settings.approval_thresholds_by_branch[b.code]["price_change_approval_over_percent"] = 1
    assert thresholds.threshold(settings, "price_change_approval_over_percent", b.code) == 20
