"""The worker process of bench/warranty.py: runs the warranty workflows (with their real
activities over a SQLite database) or the baseline's bare sleeping workflows, until killed."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

from temporalio import workflow
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker


@workflow.defn(name="BareSleepWorkflow")
class BareSleepWorkflow:
    """The baseline: one timer until the same expiry, nothing else."""

    @workflow.run
    async def run(self, days: int) -> None:
        await workflow.sleep(timedelta(days=days))


async def main(target: str, task_queue: str, mode: str, db_url: str) -> None:
    client = await Client.connect(target, data_converter=pydantic_data_converter)
    if mode == "bare":
        worker = Worker(client, task_queue=task_queue, workflows=[BareSleepWorkflow])
    else:
        from activities.deps import Deps
        from activities.warranty import build
        from backroom.db.session import make_engine, make_sessionmaker
        from backroom.settings import Settings
        from worker.errors import DomainErrorInterceptor
        from workflows.warranty import WarrantyWorkflow

        deps = Deps(settings=Settings(), sessionmaker=make_sessionmaker(make_engine(db_url)))
        worker = Worker(
            client,
            task_queue=task_queue,
            workflows=[WarrantyWorkflow],
            activities=build(deps),
            interceptors=[DomainErrorInterceptor()],
        )
    print("ready", flush=True)
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
