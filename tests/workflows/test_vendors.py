"""Vendor workflows on the time-skipping server: an application approved or rejected (with the
reason) by a manager; a vendor's listing change held until a catalog moderator approves it and
a new listing refused; shares held through the return window and paid once per vendor by the
payout run (Stripe transfer, bank payout file), a return inside the window reducing the payout,
a suspended vendor's payout frozen, and a crash after the transfer paying once."""

from __future__ import annotations

from backroom.approvals import service as approvals
from backroom.audit.context import Actor
from backroom.audit.service import verify
from backroom.catalog.models import Product
from backroom.catalog.schemas import ProductCreate, ProductUpdate
from backroom.starts import service as starts
from backroom.vendors import service as vendors
from backroom.vendors.models import Vendor
from backroom.vendors.schemas import VendorApply
from tests.helpers import TEST_ACTOR, inbox_row, principal_of, staff, uniq
from tests.vendors_support import make_vendor, vendor_product
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
        row = await inbox_row(db, wids[0])
        assert (row.roles, row.function, row.action) == ("manager", "vendors", "approve")
        await approvals.send_decision(ts_env.client, row=row, p=mgr, approve=True, reason=None)
        handle = ts_env.client.get_workflow_handle(wids[0])
        assert await handle.result() == "approved"
        await save_history(handle, "vendor_application_approved")
        row = await inbox_row(db, wids[1])
        await approvals.send_decision(
            ts_env.client, row=row, p=mgr, approve=False, reason="No tax registration"
        )
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
        row = await inbox_row(db, change.workflow_id)
        assert (row.function, row.action) == ("catalog", "update")
        async with db.read_sessionmaker() as s:
            assert (await s.get(Product, prod.id)).price_minor == 3000  # still the listed price
        await approvals.send_decision(ts_env.client, row=row, p=mgr, approve=True, reason=None)
        handle = ts_env.client.get_workflow_handle(change.workflow_id)
        assert await handle.result() == "approved"
        await save_history(handle, "product_moderation_approved")
        row = await inbox_row(db, new_change.workflow_id)
        await approvals.send_decision(ts_env.client, row=row, p=mgr, approve=False, reason="Photos missing")
        assert await ts_env.client.get_workflow_handle(new_change.workflow_id).result() == "rejected"
    async with db.read_sessionmaker() as s:
        assert (await s.get(Product, prod.id)).price_minor == 2500
        assert (await s.get(Product, new.id)).status == "rejected"
