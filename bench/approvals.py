"""Approval round trip on the embedded stack (SQLite, Temporal dev server file-backed, real HTTP):
POST decision -> Update accepted -> limit applied by the activity -> visible through the API,
at 1, 5 and 20 concurrent clients. Baseline in the same run and at the same concurrency: a bare
workflow's one no-op Update on the same server. BENCH_SCALE scales the number of approvals."""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from temporalio import workflow

N = 200
CLIENTS = (1, 5, 20)


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


async def _measure(n: int, levels: tuple[int, ...] = CLIENTS) -> dict:
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
    engine, worker_engine = make_engine(url), make_engine(url)
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
            for i in range(n * len(levels))
        ]
        clerk_token, _ = await auth.create_token(s, actor=actor, user_id=clerk.id, name="bench")
        fin_token, _ = await auth.create_token(s, actor=actor, user_id=fin.id, name="bench")

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        data_converter=pydantic_data_converter,
        dev_server_extra_args=dev_server_args(),
        dev_server_database_filename=str(tmp / "temporal.db"),  # file-backed, as `make run`
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
    result: dict = {"name": "approval round trip", "approvals_per_level": n}
    try:
        async with (
            # The worker's own engine and pool, as in production (its own process): API requests
            # waiting on Updates must not hold the connections the worker's activities need.
            build_worker(
                env.client,
                Deps(settings=settings, sessionmaker=make_sessionmaker(worker_engine)),
                task_queue=queue,
            ),
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
            while len(approvals) < len(requests):  # wait until every gate has opened its inbox row
                items = (await fin_api.get("/api/v1/approvals")).json()["items"]  # one page: the inbox
                approvals = {i["workflow_id"]: i["id"] for i in items}
                await asyncio.sleep(0.2)

            async def approver(todo, round_trips: list[float]) -> None:
                for req_id in todo:
                    approval_id = approvals[f"credit-limit-{req_id}"]
                    t0 = time.perf_counter()
                    r = await fin_api.post(
                        f"/api/v1/approvals/{approval_id}/decision", json={"approve": True}
                    )
                    r.raise_for_status()
                    while (await fin_api.get(f"/api/v1/credit-limit-requests/{req_id}")).json()[
                        "status"
                    ] != "applied":
                        await asyncio.sleep(0.01)
                    round_trips.append(time.perf_counter() - t0)

            async def bare_client(todo, latencies: list[float], level: int) -> None:
                for i in todo:
                    handle = await env.client.start_workflow(
                        NoopUpdateWorkflow.run, id=f"bare-{queue}-{level}-{i}", task_queue=queue + "-bare"
                    )
                    t0 = time.perf_counter()
                    await handle.execute_update(NoopUpdateWorkflow.poke)
                    latencies.append(time.perf_counter() - t0)

            ms = lambda v: round(v * 1000, 1)  # noqa: E731
            for level, clients in enumerate(levels):
                round_trips: list[float] = []
                todo = iter(requests[level * n : (level + 1) * n])
                t0 = time.perf_counter()
                await asyncio.gather(*[approver(todo, round_trips) for _ in range(clients)])
                per_s = n / (time.perf_counter() - t0)
                baseline: list[float] = []
                bare_todo = iter(range(n))
                t0 = time.perf_counter()
                await asyncio.gather(*[bare_client(bare_todo, baseline, clients) for _ in range(clients)])
                bare_per_s = n / (time.perf_counter() - t0)
                k = f"c{clients}_"
                result[k + "p50_ms"] = ms(pct(round_trips, 0.5))
                result[k + "p99_ms"] = ms(pct(round_trips, 0.99))
                result[k + "mean_ms"] = ms(statistics.fmean(round_trips))
                result[k + "per_s"] = round(per_s, 1)
                result[k + "baseline_p50_ms"] = ms(pct(baseline, 0.5))
                result[k + "baseline_p99_ms"] = ms(pct(baseline, 0.99))
                result[k + "baseline_per_s"] = round(bare_per_s, 1)
                result[k + "ratio_p50"] = round(pct(round_trips, 0.5) / pct(baseline, 0.5), 2)
                result[k + "ratio_p99"] = round(pct(round_trips, 0.99) / pct(baseline, 0.99), 2)
    finally:
        server.should_exit = True
        await serve
        await clerk_api.aclose()
        await fin_api.aclose()
        await env.shutdown()
        await engine.dispose()
        await worker_engine.dispose()
    result["baseline"] = "bare workflow, one no-op Update (same server, same run, same concurrency)"
    first, top = f"c{levels[0]}_", f"c{levels[-1]}_"
    result["summary"] = (
        f"round trip p50 {result[first + 'p50_ms']:.0f} ms at {levels[0]} client = {result[first + 'ratio_p50']}x "
        f"a bare Update; {result[top + 'per_s']:.1f}/s at {levels[-1]} clients"
    )
    return result


def run(n: int | None = None, levels: tuple[int, ...] = CLIENTS) -> dict:
    scale = float(os.environ.get("BENCH_SCALE", "1"))
    return asyncio.run(_measure(n or max(max(levels), round(N * scale)), levels))


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
    os._exit(0)
