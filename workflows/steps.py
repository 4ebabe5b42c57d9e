"""What keeps a busy workflow cheap on the Temporal server (issue 17): short database steps as
local activities (`db_step`: the workflow task that reaches a step runs it itself, instead of an
activity task and a second workflow task through the server; every round through Temporal's
persistence costs a caller time, and under load they queue), and changes taken by revision
instead of patch markers (`since`)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from backroom.temporal import INTERACTIVE_STEP, SHORT_DB_STEP


def since(run_rev: int, rev: int, patch: str) -> bool:
    """Whether this run takes the change `patch` made, which revision `rev` of its workflow
    includes. A run started at `rev` or later (its start input's `rev`) takes it without asking:
    no marker in its history, and no TemporalChangeVersion search attribute upsert, which the SDK
    sends with every patch marker and the server writes to its visibility store (seven per online
    order before revisions). An older run, or one whose start was queued before, asks
    workflow.patched as it always did, so every recorded history replays the same."""
    return run_rev >= rev or workflow.patched(patch)


async def db_step(local: bool, method, *args, interactive: bool = False):
    """Run `method` (a short, idempotent step on our own database: SHORT_DB_STEP's timeout and
    retries, or INTERACTIVE_STEP's when a person waits on it) as a local activity when `local`
    (the run took LOCAL_STEPS_PATCH: `since(...)` or `workflow.patched(...)`); runs from before
    keep the regular activity their history recorded (replay)."""
    args = list(args)
    if local:
        if interactive:
            return await workflow.execute_local_activity_method(method, args=args, **INTERACTIVE_STEP)
        return await workflow.execute_local_activity_method(method, args=args, **SHORT_DB_STEP)
    if interactive:
        return await workflow.execute_activity_method(method, args=args, **INTERACTIVE_STEP)
    return await workflow.execute_activity_method(method, args=args, **SHORT_DB_STEP)
