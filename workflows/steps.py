"""Short database steps as local activities (issue 17): a step the workflow task that reaches it
runs itself, instead of an activity task and a second workflow task through the server. Every
round through Temporal's persistence costs a decision's caller time, and under load they queue."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from backroom.temporal import INTERACTIVE_STEP, SHORT_DB_STEP


async def db_step(patch: str, method, *args, interactive: bool = False):
    """Run `method` (a short, idempotent step on our own database: SHORT_DB_STEP's timeout and
    retries, or INTERACTIVE_STEP's when a person waits on it) as a local activity in runs that
    reached `patch`; runs from before the patch keep the regular activity their history
    recorded (replay)."""
    args = list(args)
    if workflow.patched(patch):
        if interactive:
            return await workflow.execute_local_activity_method(method, args=args, **INTERACTIVE_STEP)
        return await workflow.execute_local_activity_method(method, args=args, **SHORT_DB_STEP)
    if interactive:
        return await workflow.execute_activity_method(method, args=args, **INTERACTIVE_STEP)
    return await workflow.execute_activity_method(method, args=args, **SHORT_DB_STEP)
