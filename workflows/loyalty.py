"""Loyalty workflows: the nightly run (expiry, notices, tiers), earning after the return
window, and adjustments above the threshold through the approval gate."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import SearchAttributeKey

from workflows.approval import ApprovalAsk, ApprovalGate, ApprovalLevel

with workflow.unsafe.imports_passed_through():
    from activities.loyalty import LoyaltyActivities
    from backroom.loyalty.flow import (
        ADJUSTMENT_WORKFLOW,
        EARN_LATER_WORKFLOW,
        NIGHTLY_WORKFLOW,
        AdjustmentDecision,
        AdjustmentInput,
        BatchAsk,
        EarnLaterInput,
        NightlyInput,
        NightlyResult,
    )
    from backroom.temporal import LONG_DB_STEP, SHORT_DB_STEP

RULES_AND_BIRTHDAYS = "loyalty-nightly-enrol-rules-and-birthdays"
SCHEDULED_AT = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


@workflow.defn(name=NIGHTLY_WORKFLOW)
class LoyaltyNightlyWorkflow:
    """One pass over the ledger: expire what is due (batches of members), queue the 30/7-day
    notices, recompute every tier (rolling spend moves with the calendar), enrol the customers
    the programs' segment rules name, award today's birthday bonuses. Continues as new when
    the history grows, keeping its place."""

    @workflow.run
    async def run(self, inp: NightlyInput) -> NightlyResult:
        at = inp.at or workflow.info().typed_search_attributes.get(SCHEDULED_AT) or workflow.now()
        expired = notices = tier_batches = 0
        step, after = inp.step, inp.after_id
        while step != "done":
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(NightlyInput(at=at, step=step, after_id=after))
            ask = BatchAsk(at=at, after_id=after)
            if step == "expire":
                done = await workflow.execute_activity_method(
                    LoyaltyActivities.expire_batch, ask, **LONG_DB_STEP
                )
                expired += done.points
                step, after = ("expire", done.last_id) if done.last_id else ("notices", 0)
            elif step == "notices":
                notices = await workflow.execute_activity_method(
                    LoyaltyActivities.send_notices, ask, **LONG_DB_STEP
                )
                step = "tiers"
            elif step == "tiers":
                done = await workflow.execute_activity_method(
                    LoyaltyActivities.tier_batch, ask, **LONG_DB_STEP
                )
                tier_batches += 1
                # Runs recorded before enrolment rules and birthday bonuses end after tiers.
                nxt = "enrol" if workflow.patched(RULES_AND_BIRTHDAYS) else "done"
                step, after = ("tiers", done.last_id) if done.last_id else (nxt, 0)
            elif step == "enrol":
                done = await workflow.execute_activity_method(
                    LoyaltyActivities.enrol_batch, ask, **LONG_DB_STEP
                )
                step, after = ("enrol", done.last_id) if done.last_id else ("birthdays", 0)
            else:
                done = await workflow.execute_activity_method(
                    LoyaltyActivities.birthday_batch, ask, **LONG_DB_STEP
                )
                step, after = ("birthdays", done.last_id) if done.last_id else ("done", 0)
        return NightlyResult(expired_points=expired, notices=notices, tier_batches=tier_batches)


@workflow.defn(name=EARN_LATER_WORKFLOW)
class LoyaltyEarnAfterReturnsWorkflow:
    """Sleeps through a delivered order's return window, then awards its points."""

    @workflow.run
    async def run(self, inp: EarnLaterInput) -> bool:
        wait = (inp.earn_at - workflow.now()).total_seconds()
        if wait > 0:
            await workflow.sleep(wait)
        return await workflow.execute_activity_method(
            LoyaltyActivities.earn_after_returns, inp, **SHORT_DB_STEP
        )


@workflow.defn(name=ADJUSTMENT_WORKFLOW)
class LoyaltyAdjustmentWorkflow(ApprovalGate):
    """A manual adjustment above the program's threshold: a manager approves (48 h) or it lapses."""

    @workflow.run
    async def run(self, inp: AdjustmentInput) -> str:
        outcome = await self.request_approval(
            ApprovalAsk(
                key="adjustment",
                branch_id=inp.branch_id,
                subject_type="customer",
                subject_id=str(inp.customer_id),
                title=f"Loyalty adjustment for {inp.customer_name}: {inp.points:+d} points",
                reason=inp.reason,
                requested_by_id=inp.requested_by_id,
                requested_by_name=inp.requested_by_name,
                function="loyalty",
                action="approve",
                levels=[ApprovalLevel(role="manager", hours=inp.manager_hours)],
            )
        )
        await workflow.execute_activity_method(
            LoyaltyActivities.decide_adjustment,
            AdjustmentDecision(
                adjustment_id=inp.adjustment_id, status=outcome.status, decided_by_id=outcome.decided_by_id
            ),
            **SHORT_DB_STEP,
        )
        return outcome.status


WORKFLOWS = [LoyaltyNightlyWorkflow, LoyaltyEarnAfterReturnsWorkflow, LoyaltyAdjustmentWorkflow]
