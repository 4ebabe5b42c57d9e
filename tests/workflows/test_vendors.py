"""Vendor workflows on the time-skipping server: an application approved or rejected (with the
reason) by a manager; a vendor's listing change held until a catalog moderator approves it and
a new listing refused; shares held through the return window and paid once per vendor by the
payout run (Stripe transfer, bank payout file), a return inside the window reducing the payout,
a suspended vendor's payout frozen, and a crash after the transfer paying once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
from sqlalchemy import select

from backroom.audit.context import Actor
from backroom.audit.service import verify
from backroom.catalog.models import Product
from backroom.catalog.schemas import ProductCreate, ProductUpdate
from backroom.orders import service as orders
from backroom.orders.models import Order
from backroom.starts import service as starts
from backroom.starts.models import WorkflowStart
from backroom.vendors import payouts as vendor_payouts
from backroom.vendors import service as vendors
from backroom.vendors.flow import (
    PAYOUT_RUN_WORKFLOW,
    PayoutRunInput,
    PayoutRunResult,
    payout_workflow_id,
    share_workflow_id,
)
from backroom.vendors.models import Payout, Vendor, VendorShare
from backroom.vendors.schemas import CommissionRuleIn, VendorApply
from tests.helpers import (
    TEST_ACTOR,
    CrashOnce,
    adapters,
    approval_for,
    decide,
    make_vendor,
    place,
    principal_of,
    staff,
    uniq,
    vendor_product,
)
from worker.registry import Deps, build_worker


def _apply(name: str) -> VendorApply:
    return VendorApply(
        name=name,
        legal_name=f"{name} LLC",
        contact_name="Cleo",
        contact_email="cleo@example.com",
        tax_id="US-1",
        categories=["Ceramics"],
        stripe_account_id="acct_" + uniq("a"),
    )


async def test_application_approved_and_rejected_with_reason(
    ts_env, sqlite_db, settings, task_queue, save_history
):
    db = sqlite_db
    team = await staff(db, roles=("clerk", "manager"))
    clerk = Actor.user(team["clerk"].id, team["clerk"].full_name)
    async with db.sessionmaker.begin() as s:
        good = await vendors.apply(s, actor=clerk, data=_apply(uniq("Good ")), branch_id=team["branch"].id)
        bad = await vendors.apply(s, actor=clerk, data=_apply(uniq("Bad ")), branch_id=team["branch"].id)
        wids = [good.approval_workflow_id, bad.approval_workflow_id]
    mgr = await principal_of(db, team["manager"])
    async with build_worker(
        ts_env.client, Deps(settings=settings, sessionmaker=db.sessionmaker), task_queue=task_queue
    ):
        await starts.dispatch(ts_env.client, db.sessionmaker, wids, default_queue=task_queue)
        row = await approval_for(db, wids[0])
        assert (row.roles, row.function, row.action) == ("manager", "vendors", "approve")
        await decide(db, ts_env.client, row, mgr, approve=True, reason=None)
        handle = ts_env.client.get_workflow_handle(wids[0])
        assert await handle.result() == "approved"
        await save_history(handle, "vendor_application_approved")
        row = await approval_for(db, wids[1])
        await decide(db, ts_env.client, row, mgr, approve=False, reason="No tax registration")
        assert await ts_env.client.get_workflow_handle(wids[1]).result() == "rejected"
    async with db.read_sessionmaker() as s:
        assert (await s.get(Vendor, good.id)).status == "approved"
        refused = await s.get(Vendor, bad.id)
        assert refused.status == "rejected" and "No tax registration" in refused.decision_note
        assert (await verify(s)).ok


async def test_listing_change_waits_for_the_moderator(ts_env, sqlite_db, settings, task_queue, save_history):
    db = sqlite_db
    team = await staff(db, roles=("manager",))
    async with db.sessionmaker.begin() as s:
        v = await make_vendor(s, branch=team["branch"])
        prod = await vendor_product(s, vendor=v, branch=team["branch"], price=3000)
        change = await vendors.update_product(
            s, actor=TEST_ACTOR, vendor_id=v.id, product_id=prod.id, data=ProductUpdate(price_minor=2500)
        )
        new = await vendors.create_product(
            s,
            actor=TEST_ACTOR,
            vendor_id=v.id,
            data=ProductCreate(sku=uniq("N-"), name="Odd jug", category="Ceramics", price_minor=900),
        )
        new_change = (await vendors.list_changes(s, scope=v.id, status="pending"))[-1]
    mgr = await principal_of(db, team["manager"])
    async with build_worker(
        ts_env.client, Deps(settings=settings, sessionmaker=db.sessionmaker), task_queue=task_queue
    ):
        await starts.dispatch(
            ts_env.client,
            db.sessionmaker,
            [change.workflow_id, new_change.workflow_id],
            default_queue=task_queue,
        )
        row = await approval_for(db, change.workflow_id)
        assert (row.function, row.action) == ("catalog", "update")
        async with db.read_sessionmaker() as s:
            assert (await s.get(Product, prod.id)).price_minor == 3000  # still the listed price
        await decide(db, ts_env.client, row, mgr, approve=True, reason=None)
        handle = ts_env.client.get_workflow_handle(change.workflow_id)
        assert await handle.result() == "approved"
        await save_history(handle, "product_moderation_approved")
        row = await approval_for(db, new_change.workflow_id)
        await decide(db, ts_env.client, row, mgr, approve=False, reason="Photos missing")
        assert await ts_env.client.get_workflow_handle(new_change.workflow_id).result() == "rejected"
    async with db.read_sessionmaker() as s:
        assert (await s.get(Product, prod.id)).price_minor == 2500
        assert (await s.get(Product, new.id)).status == "rejected"


# ---- shares, the return window and payouts ----------------------------------------------

RUN_AT = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


async def _transfers(settings, destination: str) -> list[dict]:
    async with httpx.AsyncClient(base_url=settings.stripe_api_base) as http:
        r = await http.get(
            "/v1/transfers", params={"limit": 100}, headers={"Authorization": "Bearer sk_test_backroom"}
        )
    r.raise_for_status()
    return [t for t in r.json()["data"] if t["destination"] == destination]


async def _deliver(db, order_id: int) -> list[VendorShare]:
    async with db.sessionmaker.begin() as s:
        await orders.set_status(
            s,
            actor=TEST_ACTOR,
            order_id=order_id,
            status="delivered",
            message="Delivered.",
            key=f"t:{order_id}:delivered",
        )
    async with db.read_sessionmaker() as s:
        return list(await s.scalars(select(VendorShare).where(VendorShare.order_id == order_id)))


async def _release(env, db, task_queue, shares, save_history=None) -> None:
    """Start the shares' hold workflows (queued in the outbox on delivery) and let time pass."""
    wids = [share_workflow_id(x.id) for x in shares]
    assert await starts.dispatch(env.client, db.sessionmaker, wids, default_queue=task_queue)
    await env.sleep(timedelta(days=15))  # the 14-day return window passes
    for wid in wids:
        handle = env.client.get_workflow_handle(wid)
        assert await handle.result() == "payable"
        if save_history:
            await save_history(handle, "vendor_share_hold_released")


async def _run(env, task_queue, at=RUN_AT, save_history=None) -> list[int]:
    handle = await env.client.start_workflow(
        PAYOUT_RUN_WORKFLOW,
        PayoutRunInput(at=at),
        id=uniq("payout-run-"),
        task_queue=task_queue,
        result_type=PayoutRunResult,
    )
    result = await handle.result()
    if save_history:
        await save_history(handle, "vendor_payout_run")
    return result.payouts


async def _payout_result(env, payout_id: int) -> str:
    return await env.client.get_workflow_handle(payout_workflow_id(payout_id)).result()


async def _world(db, gateway, *, payout_method_b="bank") -> SimpleNamespace:
    """A manager and finance, vendor A paid by Stripe (a connected account on the local Stripe)
    and vendor B (bank unless told), one product each, commission 10 % + 0.50 per line."""
    w = SimpleNamespace(team=await staff(db, roles=("manager", "finance")))
    w.branch = w.team["branch"]
    w.acct = await gateway.create_account(f"{uniq('a')}@vendor.example.com", idempotency_key=uniq("acct-"))
    async with db.sessionmaker.begin() as s:
        await vendors.set_rule(s, actor=TEST_ACTOR, data=CommissionRuleIn(percent_bp=1000, fixed_minor=50))
        w.va = await make_vendor(s, branch=w.branch, stripe_account_id=w.acct)
        w.vb = await make_vendor(s, branch=w.branch, payout_method=payout_method_b)
        w.pa = await vendor_product(s, vendor=w.va, branch=w.branch, price=2500)
        w.pb = await vendor_product(s, vendor=w.vb, branch=w.branch, price=1000)
    return w


async def _balance(db, vendor_id):
    async with db.read_sessionmaker() as s:
        return await vendors.balance(s, await s.get(Vendor, vendor_id))


async def test_two_vendor_order_paid_once_after_the_window(
    ts_env, fresh_db, commerce_settings, task_queue, save_history
):
    db, settings = fresh_db, commerce_settings
    gateway = adapters(settings)["payments"]
    w = await _world(db, gateway)
    order = await place(db, w.branch, [(w.pa.id, 1), (w.pb.id, 2)])
    assert (await _balance(db, w.va.id)).pending_minor == 2500 - 300  # 10 % + 0.50 commission
    shares = await _deliver(db, order.id)
    assert {x.status for x in shares} == {"held"}
    deps = Deps(settings=settings, sessionmaker=db.sessionmaker, extra={"payments": gateway})
    async with build_worker(ts_env.client, deps, task_queue=task_queue):
        assert await _run(ts_env, task_queue) == []  # inside the window: nothing payable yet
        await _release(ts_env, db, task_queue, shares, save_history)
        assert (await _balance(db, w.vb.id)).payable_minor == 2000 - 250
        paid = await _run(ts_env, task_queue, save_history=save_history)
        assert len(paid) == 2
        for pid in paid:
            handle = ts_env.client.get_workflow_handle(payout_workflow_id(pid))
            assert await handle.result() == "paid"
        await save_history(handle, "vendor_payout_paid")
        assert await _run(ts_env, task_queue) == paid  # the same week again: the same payouts, nothing new
    assert [t["amount"] for t in await _transfers(settings, w.acct)] == [2200]
    a, b = await _balance(db, w.va.id), await _balance(db, w.vb.id)
    assert (a.pending_minor, a.payable_minor, a.paid_minor) == (0, 0, 2200)
    assert (b.pending_minor, b.payable_minor, b.paid_minor) == (0, 0, 1750)
    async with db.read_sessionmaker() as s:
        bank = await s.scalar(select(Payout).where(Payout.vendor_id == w.vb.id))
    rows = Path(bank.file_path).read_text().splitlines()  # noqa: ASYNC240 (one small file)
    assert len(rows) == 2 and rows[1].endswith(f",17.50,USD,vendor-payout-{bank.id}")


async def test_return_inside_the_window_reduces_the_payout(ts_env, fresh_db, commerce_settings, task_queue):
    db, settings = fresh_db, commerce_settings
    gateway = adapters(settings)["payments"]
    w = await _world(db, gateway)
    order = await place(db, w.branch, [(w.pa.id, 2)])
    shares = await _deliver(db, order.id)
    async with db.sessionmaker.begin() as s:  # one of the two returned and refunded in the window
        o = await s.get(Order, order.id)
        o.refunded_minor = o.total_minor // 2
        await orders.set_status(
            s,
            actor=TEST_ACTOR,
            order_id=order.id,
            status="partially_refunded",
            message="Return",
            key=uniq("r"),
        )
    deps = Deps(settings=settings, sessionmaker=db.sessionmaker, extra={"payments": gateway})
    async with build_worker(ts_env.client, deps, task_queue=task_queue):
        await _release(ts_env, db, task_queue, shares)
        (pid,) = await _run(ts_env, task_queue)
        assert await _payout_result(ts_env, pid) == "paid"
    # 5000 sold, 550 commission; half the order refunded: the vendor's part of the refund (its
    # share of the order total, which also holds shipping) and that part's commission come back.
    async with db.read_sessionmaker() as s:
        o = await s.get(Order, order.id)
    part = 5000 * o.refunded_minor // o.total_minor
    assert 2000 < part <= 2500
    assert [t["amount"] for t in await _transfers(settings, w.acct)] == [
        5000 - 550 - part + 550 * part // 5000
    ]


async def test_suspended_vendor_payout_is_frozen(
    ts_env, fresh_db, commerce_settings, task_queue, save_history
):
    db, settings = fresh_db, commerce_settings
    gateway = adapters(settings)["payments"]
    w = await _world(db, gateway, payout_method_b="stripe")
    big = settings.vendor_payout_approval_over_minor + 1
    async with db.sessionmaker.begin() as s:
        await vendors.adjust(
            s, actor=TEST_ACTOR, vendor_id=w.va.id, amount_minor=big, reason="Settlement", key=uniq()
        )
        await vendors.adjust(
            s, actor=TEST_ACTOR, vendor_id=w.vb.id, amount_minor=500, reason="Settlement", key=uniq()
        )
        await vendors.suspend(s, actor=TEST_ACTOR, vendor_id=w.vb.id, reason="Under review")
    deps = Deps(settings=settings, sessionmaker=db.sessionmaker, extra={"payments": gateway})
    async with build_worker(ts_env.client, deps, task_queue=task_queue):
        (pid,) = await _run(ts_env, task_queue)  # the suspended vendor gets no payout
        wid = payout_workflow_id(pid)
        row = await approval_for(db, wid)
        assert (row.roles, row.function, row.amount_minor) == ("finance", "vendors", big)
        async with db.sessionmaker.begin() as s:  # suspended while finance looks at it
            await vendors.suspend(s, actor=TEST_ACTOR, vendor_id=w.va.id, reason="Chargebacks")
        fin = await principal_of(db, w.team["finance"])
        await decide(db, ts_env.client, row, fin, approve=True, reason=None)
        handle = ts_env.client.get_workflow_handle(wid)
        assert await handle.result() == "frozen"
        await save_history(handle, "vendor_payout_approved_frozen")
    assert await _transfers(settings, w.acct) == []
    a, b = await _balance(db, w.va.id), await _balance(db, w.vb.id)
    assert (a.payable_minor, a.paid_minor, b.payable_minor) == (big, 0, 500)  # kept, not paid


async def test_crash_after_the_transfer_pays_once(ts_env, fresh_db, commerce_settings, task_queue):
    db, settings = fresh_db, commerce_settings
    gateway = CrashOnce(adapters(settings)["payments"], "transfer")
    w = await _world(db, gateway)
    async with db.sessionmaker.begin() as s:
        await vendors.adjust(
            s, actor=TEST_ACTOR, vendor_id=w.va.id, amount_minor=4321, reason="Opening", key=uniq()
        )
    deps = Deps(settings=settings, sessionmaker=db.sessionmaker, extra={"payments": gateway})
    async with build_worker(ts_env.client, deps, task_queue=task_queue):
        (pid,) = await _run(ts_env, task_queue)
        assert await _payout_result(ts_env, pid) == "paid"
    assert gateway.calls["transfer"] == 2  # the activity ran again after the crash
    assert [t["amount"] for t in await _transfers(settings, w.acct)] == [4321]
    async with db.read_sessionmaker() as s:
        payout = await s.get(Payout, pid)
    assert payout.status == "paid" and payout.transfer_id.startswith("tr_")


async def test_a_manual_payout_run_pays_what_is_payable_now(ts_env, fresh_db, commerce_settings, task_queue):
    """Issue 13: finance runs payouts by hand between the weekly runs: the run the API queues
    (its own run key, so a vendor paid this week is paid again for what became payable since)
    pays each vendor's payable balance once."""
    db, settings = fresh_db, commerce_settings
    gateway = adapters(settings)["payments"]
    w = await _world(db, gateway)
    deps = Deps(settings=settings, sessionmaker=db.sessionmaker, extra={"payments": gateway})
    async with build_worker(ts_env.client, deps, task_queue=task_queue):
        async with db.sessionmaker.begin() as s:
            await vendors.adjust(
                s, actor=TEST_ACTOR, vendor_id=w.vb.id, amount_minor=700, reason="Settlement", key=uniq()
            )
        (weekly,) = await _run(ts_env, task_queue)
        assert await _payout_result(ts_env, weekly) == "paid"
        async with db.sessionmaker.begin() as s:
            await vendors.adjust(
                s, actor=TEST_ACTOR, vendor_id=w.vb.id, amount_minor=300, reason="Late sale", key=uniq()
            )
            fin = await principal_of(db, w.team["finance"])
            run_key = await vendor_payouts.run_now(
                s, actor=fin.actor(), reason="Late sale", prefix=uniq("t-")
            )
        async with db.read_sessionmaker() as s:
            start = await s.scalar(select(WorkflowStart).where(WorkflowStart.workflow_id.endswith(run_key)))
        handle = await ts_env.client.start_workflow(
            PAYOUT_RUN_WORKFLOW,
            PayoutRunInput.model_validate(start.args),
            id=start.workflow_id,
            task_queue=task_queue,
            result_type=PayoutRunResult,
        )
        (manual,) = (await handle.result()).payouts
        assert manual != weekly and await _payout_result(ts_env, manual) == "paid"
    async with db.read_sessionmaker() as s:
        rows = {
            p.run_key: p.amount_minor
            for p in await s.scalars(select(Payout).where(Payout.vendor_id == w.vb.id))
        }
    assert rows == {f"{RUN_AT:%G-W%V}": 700, run_key: 300}
    assert (await _balance(db, w.vb.id)).paid_minor == 1000
