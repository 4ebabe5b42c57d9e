"""ReportRunWorkflow: the snapshots of one edition for one period (a backfill, id
report-run-{edition}-{label}-{n}) or for the periods a schedule's tick finds ended and not yet
stored (ids report-{edition}-<scheduled time>, started by the Temporal Schedules of
backroom/reports/schedules.py). One activity per snapshot, a few at a time."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.reports import ReportActivities
    from backroom.reports.flow import ReportRunInput, ReportRunResult, RunPlanAsk, SnapshotAsk, SnapshotDone

# Set by the server on workflows a Schedule starts: the action's nominal time, also on catch-up.
SCHEDULED_AT = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
PARALLEL = 4  # snapshots built at once: rendering is CPU-bound and the worker is shared
RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5), maximum_attempts=20)


@workflow.defn
class ReportRunWorkflow:
    @workflow.run
    async def run(self, inp: ReportRunInput) -> ReportRunResult:
        """Plan the run, then make each snapshot. Idempotent: a snapshot activity that is retried
        (or a run that is reset) finds what it already stored."""
        at = inp.at or workflow.info().typed_search_attributes.get(SCHEDULED_AT) or workflow.now()
        plan = await workflow.execute_activity_method(
            ReportActivities.plan_run,
            RunPlanAsk(
                edition=inp.edition,
                at=at,
                label=inp.label,
                functions=inp.functions,
                branch_ids=inp.branch_ids,
                force=inp.force,
            ),
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=RETRY,
        )
        done: list[SnapshotDone] = []
        failed: list[str] = []
        for i in range(0, len(plan), PARALLEL):
            items = plan[i : i + PARALLEL]
            batch = [
                workflow.execute_activity_method(
                    ReportActivities.make_snapshot,
                    self._ask(inp, item),
                    start_to_close_timeout=timedelta(minutes=10),
                    retry_policy=RETRY,
                )
                for item in items
            ]
            # One report that cannot be made must not cost the others theirs.
            for item, outcome in zip(
                items, await asyncio.gather(*batch, return_exceptions=True), strict=True
            ):
                if isinstance(outcome, ActivityError):
                    failed.append(
                        f"{item.function} {item.label} branch {item.branch_id or 'all'}: {outcome.cause}"
                    )
                elif isinstance(outcome, BaseException):
                    raise outcome
                else:
                    done.append(outcome)
        if failed:
            raise ApplicationError(
                f"{len(failed)} of {len(plan)} snapshots failed: " + "; ".join(failed[:10]),
                type="SnapshotsFailed",
                non_retryable=True,
            )
        return ReportRunResult(edition=inp.edition, at=at, snapshots=done)

    @staticmethod
    def _ask(inp: ReportRunInput, item: SnapshotAsk) -> SnapshotAsk:
        return item.model_copy(update={"trigger": inp.trigger, "requested_by_id": inp.requested_by_id})


WORKFLOWS = [ReportRunWorkflow]
