"""CreditHoldWorkflow (credit-hold-{id}) and CreditOverdueSweepWorkflow (credit-overdue-sweep).

A held credit sale waits for whichever comes first: a finance decision through the approval
gate (finance, then manager, then expiry) or a payment that frees enough credit (the
`payment_posted` signal). Overdue accounts are found by one sweep workflow on a timer rather
than one workflow per account: a million idle account workflows would cost history and
worker memory for nothing, while one indexed query per interval finds the few that changed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.credit_holds import CreditHoldActivities
    from backroom.credit.flow import (
        HOLD_WORKFLOW,
        OVERDUE_SWEEP_WORKFLOW,
        CreditHoldInput,
        SweepInput,
    )
    from backroom.temporal import LONG_DB_STEP, SHORT_DB_STEP
    from workflows.approval import ApprovalAsk, ApprovalGate, ApprovalLevel

# CreditHoldInput is still imported from here by api/routes/credit_accounts.py.
__all__ = ["CreditHoldInput", "CreditHoldWorkflow", "CreditOverdueSweepWorkflow"]


@workflow.defn(name=HOLD_WORKFLOW)
class CreditHoldWorkflow(ApprovalGate):
    def __init__(self) -> None:
        super().__init__()
        self._payments = 0
        self.resolution: str | None = None

    @workflow.run
    async def run(self, inp: CreditHoldInput) -> str:
        """Approval or a freeing payment posts the sale; rejection or expiry declines it."""
        resolution = None
        if await self._fits(inp):
            resolution = "paid"
        else:
            ask = asyncio.ensure_future(
                self.request_approval(
                    ApprovalAsk(
                        key=f"credit-hold-{inp.hold_id}",
                        branch_id=inp.branch_id,
                        subject_type="credit_hold",
                        subject_id=str(inp.hold_id),
                        title=inp.title,
                        reason=inp.reason,
                        amount_minor=inp.amount_minor,
                        currency=inp.currency,
                        requested_by_id=inp.requested_by_id,
                        requested_by_name=inp.requested_by_name,
                        function="credit",
                        action="approve",
                        levels=[
                            ApprovalLevel(role="finance", hours=inp.finance_hours),
                            ApprovalLevel(role="manager", hours=inp.manager_hours),
                        ],
                    )
                )
            )
            seen = 0
            while resolution is None:
                await workflow.wait_condition(lambda: ask.done() or self._payments > seen)  # noqa: B023
                if ask.done():
                    resolution = ask.result().status
                    break
                seen = self._payments
                if await self._fits(inp):
                    resolution = "paid"
                    # Withdraw the inbox request and wait for the gate to close it, so the
                    # inbox never shows a request for a sale that already went through.
                    self.cancel_approval("A payment freed enough credit for the sale.")
                    outcome = await ask
                    if outcome.status == "approved":  # a decision that raced the payment
                        resolution = "approved"
        if resolution not in ("approved", "paid", "rejected", "expired"):
            resolution = "expired"
        self.resolution = resolution
        return await workflow.execute_activity_method(
            CreditHoldActivities.settle_hold, args=[inp.hold_id, resolution], **SHORT_DB_STEP
        )

    async def _fits(self, inp: CreditHoldInput) -> bool:
        return await workflow.execute_activity_method(
            CreditHoldActivities.hold_fits, inp.hold_id, **SHORT_DB_STEP
        )

    @workflow.signal
    def payment_posted(self) -> None:
        self._payments += 1

    @workflow.query
    def status(self) -> str | None:
        return self.resolution


@workflow.defn(name=OVERDUE_SWEEP_WORKFLOW)
class CreditOverdueSweepWorkflow:
    @workflow.run
    async def run(self, inp: SweepInput) -> None:
        """Every interval: hold accounts past terms plus grace, release paid-up ones."""
        for _ in range(inp.rounds_left):
            await workflow.execute_activity_method(
                CreditHoldActivities.sweep_overdue, workflow.now(), **LONG_DB_STEP
            )
            await workflow.sleep(timedelta(hours=inp.interval_hours))
        workflow.continue_as_new(SweepInput(interval_hours=inp.interval_hours))


WORKFLOWS = [CreditHoldWorkflow, CreditOverdueSweepWorkflow]
