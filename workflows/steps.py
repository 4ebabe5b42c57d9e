"""Short database steps as local activities (issue 17): a step the workflow task that reaches it
runs itself, instead of an activity task and a second workflow task through the server. Every
round through Temporal's persistence costs a decision's caller time, and under load they queue."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from backroom.temporal import SHORT_DB_STEP


async def db_step(patch: str, method, *args):
    """Run `method` (a short, idempotent write on our own database: SHORT_DB_STEP's timeout and
    retries) as a local activity in runs that reached `patch`; runs from before the patch keep
    the regular activity their history recorded (replay)."""
    if workflow.patched(patch):
        return await workflow.execute_local_activity_method(method, args=list(args), **SHORT_DB_STEP)
    return await workflow.execute_activity_method(method, args=list(args), **SHORT_DB_STEP)
