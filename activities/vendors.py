"""Activities of the vendor workflows: thin adapters over backroom.vendors (service, shares,
payouts) and the payment gateway (deps.extra["payments"]). The transfer happens outside any
database transaction; its idempotency key comes from the payout id."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.deps import Deps
from backroom.audit.context import Actor
from backroom.db.session import read_only
from backroom.orders.flow import VendorLateAsk
from backroom.vendors import parcels, payouts, service, shares
from backroom.vendors.flow import GateDecision, PayoutAsk, PayoutInput, PayoutStep, ShareHoldInput


def _actor(user_id: int | None = None, name: str | None = None) -> Actor:
    return Actor.workflow(activity.info().workflow_id, on_behalf_of=user_id, name=name or "Vendors")


class VendorActivities:
    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self._sessionmaker = deps.sessionmaker
        self._reader = read_only(self._sessionmaker)  # reads take no write transaction

    @activity.defn(name="vendors.decide_application")
    async def decide_application(self, decision: GateDecision) -> str:
        """Approve or refuse an application. Idempotent (only an open application changes)."""
        async with self._sessionmaker.begin() as session:
            vendor = await service.decide_application(
                session, actor=_actor(decision.decided_by_id, decision.decided_by_name), decision=decision
            )
            return vendor.status

    @activity.defn(name="vendors.decide_change")
    async def decide_change(self, decision: GateDecision) -> str:
        """List an approved product or apply an approved change. Idempotent."""
        async with self._sessionmaker.begin() as session:
            change = await service.decide_change(
                session, actor=_actor(decision.decided_by_id, decision.decided_by_name), decision=decision
            )
            return change.status

    @activity.defn(name="vendors.release_share")
    async def release_share(self, inp: ShareHoldInput) -> str:
        """The return window has passed: the share becomes payable. Idempotent."""
        async with self._sessionmaker.begin() as session:
            return await shares.release(session, share_id=inp.share_id)

    @activity.defn(name="vendors.parcels_late")
    async def parcels_late(self, ask: VendorLateAsk) -> None:
        """The order's vendor parcels missed their shipping deadline: alert staff. Idempotent per key."""
        async with self._sessionmaker.begin() as session:
            await parcels.raise_late(
                session,
                actor=_actor(),
                order_id=ask.order_id,
                parcel_ids=ask.parcel_ids,
                days=ask.days,
                key=ask.key,
            )

    @activity.defn(name="vendors.payable_vendors")
    async def payable_vendors(self) -> list[int]:
        """Vendors that may be paid (approved). Read-only."""
        async with self._reader() as session:
            return await payouts.payable_vendors(session)

    @activity.defn(name="vendors.create_payout")
    async def create_payout(self, ask: PayoutAsk) -> PayoutInput | None:
        """This run's payout for one vendor, or None. Idempotent per (vendor, run)."""
        threshold = self._deps.settings.vendor_payout_approval_over_minor
        async with self._sessionmaker.begin() as session:
            payout = await payouts.create_payout(
                session,
                actor=_actor(),
                run_key=ask.run_key,
                vendor_id=ask.vendor_id,
                approval_over_minor=threshold,
            )
            if payout is None:
                return None
            vendor = await service.get_vendor(session, payout.vendor_id)
            return PayoutInput(
                payout_id=payout.id,
                vendor_id=vendor.id,
                vendor_name=vendor.name,
                branch_id=payout.branch_id,
                amount_minor=payout.amount_minor,
                currency=payout.currency,
                needs_approval=payout.status == "pending_approval",
            )

    @activity.defn(name="vendors.decide_payout")
    async def decide_payout(self, step: PayoutStep) -> str:
        """Finance's decision; a refused payout goes back into the balance. Idempotent."""
        async with self._sessionmaker.begin() as session:
            payout = await payouts.decide(
                session,
                actor=_actor(step.decided_by_id),
                payout_id=step.payout_id,
                status=step.status,
                reason=step.reason,
            )
            return payout.status

    @activity.defn(name="vendors.send_payout")
    async def send_payout(self, step: PayoutStep) -> str:
        """Send an approved payout: a Stripe transfer (idempotency key from the payout id) or
        the payout-file line; frozen instead when the vendor is suspended. Idempotent."""
        async with self._sessionmaker.begin() as session:
            ready = await payouts.ready_to_send(session, actor=_actor(), payout_id=step.payout_id)
            if ready is None:
                return (await payouts.get_payout(session, step.payout_id)).status
            payout, vendor = ready
            amount, currency, method, account = (
                payout.amount_minor,
                payout.currency,
                payout.method,
                vendor.stripe_account_id,
            )
        transfer_id = None
        if method == "stripe":
            gateway = self._deps.extra.get("payments")
            if gateway is None:
                raise ApplicationError("No payment gateway is configured.", type="GatewayMisconfigured")
            result = await gateway.transfer(
                amount,
                currency,
                account,
                payouts.transfer_key(step.payout_id, account),
                {"payout_id": str(step.payout_id)},
            )
            transfer_id = result.transfer_id
        async with self._sessionmaker.begin() as session:
            payout = await payouts.mark_paid(
                session,
                actor=_actor(),
                payout_id=step.payout_id,
                transfer_id=transfer_id,
                var_dir=self._deps.settings.var_dir,
            )
            return payout.status


def build(deps: Deps) -> list:
    a = VendorActivities(deps)
    return [
        a.decide_application,
        a.decide_change,
        a.release_share,
        a.parcels_late,
        a.payable_vendors,
        a.create_payout,
        a.decide_payout,
        a.send_payout,
    ]
