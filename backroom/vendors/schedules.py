"""The weekly vendor payout run: a Temporal Schedule `vendor-payout-run` (Mondays 06:00 UTC)
starting VendorPayoutRunWorkflow, created or updated in place when the worker starts (through
the reports' schedule helper, keeping a pause set in the Temporal UI)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
)

from backroom import temporal
from backroom.settings import Settings
from backroom.vendors.flow import PAYOUT_RUN_SCHEDULE, PAYOUT_RUN_WORKFLOW, PayoutRunInput

MONDAY = 1  # Temporal's day_of_week: 0 = Sunday


def build(settings: Settings) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            PAYOUT_RUN_WORKFLOW,
            PayoutRunInput(),
            id=f"{settings.workflow_prefix}{PAYOUT_RUN_SCHEDULE}",
            task_queue=settings.task_queue,
            execution_timeout=timedelta(hours=6),
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    minute=(ScheduleRange(0),),
                    hour=(ScheduleRange(6),),
                    day_of_week=(ScheduleRange(MONDAY),),
                    comment="Weekly vendor payouts: payable balances, one payout per vendor.",
                )
            ],
            time_zone_name="UTC",
        ),
        # A missed Monday (Temporal down) still runs when it is back, within the week.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=6)),
    )


async def ensure_schedule(client: Client, settings: Settings) -> str:
    """Create the payout schedule or bring it up to date. Idempotent."""
    sid = f"{settings.workflow_prefix}{PAYOUT_RUN_SCHEDULE}"
    await temporal.ensure_schedule(client, sid, build(settings))
    return sid
