"""Approval round trip on the embedded stack (SQLite, Temporal dev server, real HTTP):
POST decision -> Update accepted -> limit applied by the activity -> visible through the API.
Baseline in the same run: a bare workflow with one no-op Update on the same server."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from temporalio import workflow

N = 200


@workflow.defn(sandboxed=False)
class NoopUpdateWorkflow:
    """The baseline: waits for one Update that does nothing, then completes."""

    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._done, timeout=timedelta(hours=1))

    @workflow.update
    async def poke(self) -> str:
        self._done = True
        return "ok"


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _measure(n: int) -> dict:
    import uvicorn
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker

    from api.app import create_app
    from backroom.audit.context import Actor
    from backroom.auth import service as auth
    from backroom.branches.service import ensure_branch
    from backroom.customers.schemas import CustomerCreate
    from backroom.customers.service import create_customer
    from backroom.db.migrate import upgrade_async
    from backroom.db.session import make_engine, make_sessionmaker
    from backroom.settings import Settings
    from backroom.temporal import dev_server_args
    from tests.conftest import binary
    from tests.helpers import free_port
    from worker.registry import Deps, build_worker

    tmp = Path(tempfile.mkdtemp(prefix="bench-approvals-"))
    url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    await upgrade_async(url)
    engine = make_engine(url)
    sm, rsm = make_sessionmaker(engine), make_sessionmaker(engine, readonly=True)
    actor = Actor.system("bench")
    async with sm.begin() as s:
        branch = await ensure_branch(s, actor=actor, code="BENCH", name="Bench")
        clerk = await auth.create_user(
            s,
            actor=actor,
            username="clerk",
            full_name="Clerk",
            password="benchmark",
            grants=[("clerk", branch.id)],
        )
        fin = await auth.create_user(
            s,
            actor=actor,
            username="finance",
            full_name="Finance",
            password="benchmark",
            grants=[("finance", branch.id)],
        )
        customers = [
            await create_customer(s, actor=actor, data=CustomerCreate(name=f"C{i}", home_branch_id=branch.id))
            for i in range(n)
        ]
        clerk_token, _ = await auth.create_token(s, actor=actor, user_id=clerk.id, name="bench")
        fin_token, _ = await auth.create_token(s, actor=actor, user_id=fin.id, name="bench")

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        data_converter=pydantic_data_converter,
        dev_server_extra_args=dev_server_args(),
    )
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    settings = Settings(BACKROOM_VAR=tmp, SECRET_KEY="bench", BACKROOM_TASK_QUEUE=queue)
    app = create_app(settings, sessionmaker=sm, read_sessionmaker=rsm, temporal_client=env.client)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serve = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    clerk_api = httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {clerk_token}"}, timeout=30
    )
    fin_api = httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {fin_token}"}, timeout=30)
    round_trips: list[float] = []
    baseline: list[float] = []
    try:
        async with (
            build_worker(env.client, Deps(settings=settings, sessionmaker=sm), task_queue=queue),
            Worker(env.client, task_queue=queue + "-bare", workflows=[NoopUpdateWorkflow]),
        ):
            requests = []
            for c in customers:
                r = await clerk_api.post(
                    f"/api/v1/customers/{c.id}/credit-limit-requests",
                    json={"requested_limit_minor": 100_000, "reason": "benchmark"},
                )
                r.raise_for_status()
                requests.append(r.json()["id"])
            approvals: dict[str, int] = {}
            while len(approvals) < n:  # wait until every gate has opened its inbox row
                items = (await fin_api.get("/api/v1/approvals")).json()["items"]
                approvals = {i["workflow_id"]: i["id"] for i in items}
                await asyncio.sleep(0.1)
            for req_id in requests:
                approval_id = approvals[f"credit-limit-{req_id}"]
                t0 = time.perf_counter()
                r = await fin_api.post(f"/api/v1/approvals/{approval_id}/decision", json={"approve": True})
                r.raise_for_status()
                while (await fin_api.get(f"/api/v1/credit-limit-requests/{req_id}")).json()[
                    "status"
                ] != "applied":
                    await asyncio.sleep(0.002)
                round_trips.append(time.perf_counter() - t0)
            for i in range(n):
                handle = await env.client.start_workflow(
                    NoopUpdateWorkflow.run, id=f"bare-{queue}-{i}", task_queue=queue + "-bare"
                )
                t0 = time.perf_counter()
                await handle.execute_update(NoopUpdateWorkflow.poke)
                baseline.append(time.perf_counter() - t0)
    finally:
        server.should_exit = True
        await serve
        await clerk_api.aclose()
        await fin_api.aclose()
        await env.shutdown()
        await engine.dispose()
    ms = lambda v: round(v * 1000, 1)  # noqa: E731
    result = {
        "name": "approval round trip",
        "n": n,
        "p50_ms": ms(pct(round_trips, 0.5)),
        "p99_ms": ms(pct(round_trips, 0.99)),
        "mean_ms": ms(statistics.fmean(round_trips)),
        "baseline": "bare workflow, one no-op Update (same server, same run)",
        "baseline_p50_ms": ms(pct(baseline, 0.5)),
        "baseline_p99_ms": ms(pct(baseline, 0.99)),
    }
    result["ratio_p50"] = round(result["p50_ms"] / result["baseline_p50_ms"], 2)
    result["ratio_p99"] = round(result["p99_ms"] / result["baseline_p99_ms"], 2)
    return result


def run(n: int = N) -> dict:
    return asyncio.run(_measure(n))


if __name__ == "__main__":
    import json
    import os

    print(json.dumps(run(), indent=2))
    os._exit(0)
