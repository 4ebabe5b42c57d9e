"""Vendor workflows: applications and catalog changes through the approval gate, the durable
timer holding each vendor's share until the return window has passed, and the weekly payout
run with one payout workflow per vendor (finance approves large ones)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import SearchAttributeKey, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from workflows.approval import ApprovalAsk, ApprovalGate, ApprovalLevel

with workflow.unsafe.imports_passed_through():
    from activities.vendors import VendorActivities
    from backroom.temporal import GATEWAY_CALL, SHORT_DB_STEP
    from backroom.vendors.flow import (
        APPLICATION_WORKFLOW,
        MODERATION_WORKFLOW,
        PAYOUT_RUN_WORKFLOW,
        PAYOUT_WORKFLOW,
        SHARE_HOLD_WORKFLOW,
        GateDecision,
        GateInput,
        PayoutAsk,
        PayoutInput,
        PayoutRunInput,
        PayoutRunResult,
        PayoutStep,
        ShareHoldInput,
        payout_workflow_id,
    )

SCHEDULED_AT = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


async def _gate(
    wf: ApprovalGate, inp: GateInput, *, key: str, subject: str, function: str, action: str
) -> GateDecision:
    outcome = await wf.request_approval(
        ApprovalAsk(
            key=key,
            branch_id=inp.branch_id,
            subject_type=subject,
            subject_id=str(inp.subject_id),
            title=inp.title,
            reason=inp.reason,
            requested_by_id=inp.requested_by_id,
            requested_by_name=inp.requested_by_name,
            function=function,
            action=action,
            levels=[ApprovalLevel(role="manager", hours=inp.hours)],
        )
    )
    return GateDecision(
        subject_id=inp.subject_id,
        status=outcome.status,
        decided_by_id=outcome.decided_by_id,
        decided_by_name=outcome.decided_by_name,
        reason=outcome.reason,
    )


@workflow.defn(name=APPLICATION_WORKFLOW)
class VendorApplicationWorkflow(ApprovalGate):
    """A vendor's application waits for a manager (72 h); the decision is applied once."""

    @workflow.run
    async def run(self, inp: GateInput) -> str:
        decision = await _gate(
            self, inp, key="application", subject="vendor", function="vendors", action="approve"
        )
        return await workflow.execute_activity_method(
            VendorActivities.decide_application, decision, **SHORT_DB_STEP
        )


@workflow.defn(name=MODERATION_WORKFLOW)
class ProductModerationWorkflow(ApprovalGate):
    """A vendor's new product or listing change waits for a catalog moderator (catalog/update)."""

    @workflow.run
    async def run(self, inp: GateInput) -> str:
        decision = await _gate(
            self, inp, key="moderation", subject="product_change", function="catalog", action="update"
        )
        return await workflow.execute_activity_method(
            VendorActivities.decide_change, decision, **SHORT_DB_STEP
        )


@workflow.defn(name=SHARE_HOLD_WORKFLOW)
class VendorShareHoldWorkflow:
    """Sleeps until delivery + the return window, then makes the vendor's share payable
    (refunds inside the window have reduced it meanwhile, in the ledger)."""

    @workflow.run
    async def run(self, inp: ShareHoldInput) -> str:
        wait = (inp.payable_at - workflow.now()).total_seconds()
        if wait > 0:
            await workflow.sleep(wait)
        return await workflow.execute_activity_method(VendorActivities.release_share, inp, **SHORT_DB_STEP)


@workflow.defn(name=PAYOUT_RUN_WORKFLOW)
class VendorPayoutRunWorkflow:
    """The weekly run: one payout per approved vendor with a payable balance, each sent by its
    own VendorPayoutWorkflow (left running if it waits for finance)."""

    @workflow.run
    async def run(self, inp: PayoutRunInput) -> PayoutRunResult:
        at = inp.at or workflow.info().typed_search_attributes.get(SCHEDULED_AT) or workflow.now()
        run_key = inp.run_key or f"{at:%G-W%V}"
        vendors = await workflow.execute_activity_method(VendorActivities.payable_vendors, **SHORT_DB_STEP)
        done = PayoutRunResult()
        for vendor_id in vendors:
            payout: PayoutInput | None = await workflow.execute_activity_method(
                VendorActivities.create_payout,
                PayoutAsk(run_key=run_key, vendor_id=vendor_id),
                **SHORT_DB_STEP,
            )
            if payout is None:
                continue
            done.payouts.append(payout.payout_id)
            try:
                await workflow.start_child_workflow(
                    VendorPayoutWorkflow.run,
                    payout,
                    id=payout_workflow_id(payout.payout_id),
                    task_queue=inp.task_queue or workflow.info().task_queue,
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )
            except WorkflowAlreadyStartedError:
                pass  # a retried run: that payout is already on its way
        return done


@workflow.defn(name=PAYOUT_WORKFLOW)
class VendorPayoutWorkflow(ApprovalGate):
    """One payout: finance approves it above the threshold (72 h), then it is sent once."""

    @workflow.run
    async def run(self, inp: PayoutInput) -> str:
        step = PayoutStep(payout_id=inp.payout_id)
        if inp.needs_approval:
            outcome = await self.request_approval(
                ApprovalAsk(
                    key="payout",
                    branch_id=inp.branch_id,
                    subject_type="vendor_payout",
                    subject_id=str(inp.payout_id),
                    title=f"Payout to {inp.vendor_name}",
                    reason="Above the payout approval threshold",
                    amount_minor=inp.amount_minor,
                    currency=inp.currency,
                    function="vendors",
                    action="approve",
                    levels=[ApprovalLevel(role="finance", hours=inp.finance_hours)],
                )
            )
            step = PayoutStep(
                payout_id=inp.payout_id,
                status=outcome.status,
                decided_by_id=outcome.decided_by_id,
                reason=outcome.reason,
            )
            status = await workflow.execute_activity_method(
                VendorActivities.decide_payout, step, **SHORT_DB_STEP
            )
            if status != "approved":
                return status
        return await workflow.execute_activity_method(VendorActivities.send_payout, step, **GATEWAY_CALL)


WORKFLOWS = [
    VendorApplicationWorkflow,
    ProductModerationWorkflow,
    VendorShareHoldWorkflow,
    VendorPayoutRunWorkflow,
    VendorPayoutWorkflow,
]
