"""The bare Temporal workload the orders benchmark compares with: a workflow with a given number
of no-op activities, Updates and signals, in the same sandbox as Backroom's workflows.
`python -m bench._bare ADDRESS QUEUE` runs its worker in a process of its own, as Backroom's runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow


@dataclass
class Shape:
    """What one workflow of an order does: counted from a real order's histories."""

    activities: int = 0
    local_activities: int = 0  # steps Backroom runs as local activities (history markers)
    updates: int = 0
    signals: int = 0


@activity.defn(name="bare.noop")
async def noop(step: int) -> int:
    return step


@workflow.defn(name="BareShape")
class BareShapeWorkflow:
    """Runs `activities` no-op activities, then `local_activities` no-op local activities, one
    after another, and ends once it has taken `updates` Updates and `signals` signals."""

    def __init__(self) -> None:
        self._updates = 0
        self._signals = 0

    @workflow.run
    async def run(self, shape: Shape) -> int:
        for step in range(shape.activities):
            await workflow.execute_activity(noop, step, start_to_close_timeout=timedelta(seconds=30))
        for step in range(shape.local_activities):
            await workflow.execute_local_activity(noop, step, start_to_close_timeout=timedelta(seconds=30))
        await workflow.wait_condition(
            lambda: self._updates >= shape.updates and self._signals >= shape.signals
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return shape.activities + shape.local_activities

    @workflow.update
    async def poke(self) -> int:
        self._updates += 1
        return self._updates

    @workflow.signal
    def nudge(self) -> None:
        self._signals += 1


async def _serve(address: str, queue: str) -> None:
    import asyncio
    import signal

    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.worker import Worker

    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    async with Worker(client, task_queue=queue, workflows=[BareShapeWorkflow], activities=[noop]):
        print("worker polling", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    import asyncio
    import os
    import sys

    try:
        asyncio.run(_serve(sys.argv[1], sys.argv[2]))
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    os._exit(0)
