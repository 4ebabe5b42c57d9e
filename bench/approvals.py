"""Approval round trip on the embedded stack (SQLite, Temporal dev server file-backed, real HTTP):
POST decision -> recorded and the limit applied in one transaction (the POST is answered: timed
on its own too), the workflow told by signal -> the new limit read back through the API, at 1, 5
and 20 concurrent clients; beside it, the time until the request's workflow has closed. Baseline in the same run and at the same concurrency: a bare
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

from bench._meter import descendants, machine_busy, process_cpu

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


def temporal_pid() -> int:
    """The dev server this process started (a process below it named temporal)."""
    for pid in descendants(os.getpid()):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "temporal":
                return pid
        except OSError:
            continue
    raise RuntimeError("no temporal dev server below this process")


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _measure(n: int, levels: tuple[int, ...] = CLIENTS) -> dict:
    import uvicorn
    from sqlalchemy import select
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker

    from api.app import create_app
    from backroom.approvals.models import ApprovalRequest
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
            # Wait until every gate has opened its inbox row. Read from the database: the inbox
            # lists at most INBOX_LIMIT (500) rows, fewer than the 600 requests of a full run.
            while len(approvals) < len(requests):
                async with rsm() as s:
                    rows = await s.execute(select(ApprovalRequest.workflow_id, ApprovalRequest.id))
                approvals = dict(rows.all())
                await asyncio.sleep(0.2)

            async def closed_after(sent: list[tuple[str, float]]) -> list[float]:
                """Seconds from each POST to its workflow's close, read from Temporal after the
                timed window (waiting on each result inside it would load the run it times)."""
                out = []
                for workflow_id, at in sent:
                    handle = env.client.get_workflow_handle(workflow_id)
                    await handle.result()
                    out.append((await handle.describe()).close_time.timestamp() - at)
                return out

            async def approver(
                todo, round_trips: list[float], answers: list[float], sent: list[tuple[str, float]]
            ) -> None:
                for req_id in todo:
                    workflow_id = f"credit-limit-{req_id}"
                    approval_id = approvals[workflow_id]
                    t0, at = time.perf_counter(), time.time()
                    r = await fin_api.post(
                        f"/api/v1/approvals/{approval_id}/decision", json={"approve": True}
                    )
                    r.raise_for_status()
                    answers.append(time.perf_counter() - t0)
                    while (await fin_api.get(f"/api/v1/credit-limit-requests/{req_id}")).json()[
                        "status"
                    ] != "applied":
                        await asyncio.sleep(0.01)
                    round_trips.append(time.perf_counter() - t0)
                    sent.append((workflow_id, at))  # the approver does not wait for the workflow

            async def bare_start(level: int) -> list:
                """The level's bare workflows, started and waiting before the timed window, as
                the approvals' workflows are (timing a fresh one's Update would add its first
                workflow task to the baseline and flatter the ratio)."""
                handles = [
                    await env.client.start_workflow(
                        NoopUpdateWorkflow.run, id=f"bare-{queue}-{level}-{i}", task_queue=queue + "-bare"
                    )
                    for i in range(n)
                ]
                for h in handles:  # each has run its first workflow task: it is waiting for the Update
                    while (await h.describe()).raw_description.HasField("pending_workflow_task"):
                        await asyncio.sleep(0.01)
                return handles

            async def bare_client(todo, latencies: list[float]) -> None:
                for handle in todo:
                    t0 = time.perf_counter()
                    await handle.execute_update(NoopUpdateWorkflow.poke)
                    latencies.append(time.perf_counter() - t0)

            ms = lambda v: round(v * 1000, 1)  # noqa: E731
            # CPU during each window, in cores: this process (load generator, API, worker and the
            # bare worker share its one interpreter), the Temporal server, and the whole machine.
            watched = {"process": os.getpid(), "temporal": temporal_pid()}

            def cpu_now() -> dict[str, float]:
                now = {k: process_cpu(pid, children=False) for k, pid in watched.items()}
                return {**now, "machine": machine_busy()[0]}

            def cores(before: dict[str, float], wall: float) -> dict[str, float]:
                return {k: round((v - before[k]) / wall, 2) for k, v in cpu_now().items()}

            for level, clients in enumerate(levels):
                round_trips: list[float] = []
                answers: list[float] = []
                sent: list[tuple[str, float]] = []
                todo = iter(requests[level * n : (level + 1) * n])
                t0, cpu0 = time.perf_counter(), cpu_now()
                await asyncio.gather(*[approver(todo, round_trips, answers, sent) for _ in range(clients)])
                wall = time.perf_counter() - t0
                per_s, busy = n / wall, cores(cpu0, wall)
                watch_times = await closed_after(sent)
                baseline: list[float] = []
                bare_todo = iter(await bare_start(clients))
                t0, cpu0 = time.perf_counter(), cpu_now()
                await asyncio.gather(*[bare_client(bare_todo, baseline) for _ in range(clients)])
                wall = time.perf_counter() - t0
                bare_per_s, bare_busy = n / wall, cores(cpu0, wall)
                k = f"c{clients}_"
                result[k + "p50_ms"] = ms(pct(round_trips, 0.5))
                result[k + "p99_ms"] = ms(pct(round_trips, 0.99))
                result[k + "mean_ms"] = ms(statistics.fmean(round_trips))
                # The POST alone: answered once the decision and the new limit are committed.
                result[k + "answered_p50_ms"] = ms(pct(answers, 0.5))
                result[k + "answered_p99_ms"] = ms(pct(answers, 0.99))
                result[k + "answered_ratio_p50"] = round(pct(answers, 0.5) / pct(baseline, 0.5), 2)
                result[k + "per_s"] = round(per_s, 1)
                result[k + "workflow_closed_p50_ms"] = ms(pct(watch_times, 0.5))
                result[k + "workflow_closed_p99_ms"] = ms(pct(watch_times, 0.99))
                result[k + "cores_busy"] = busy
                result[k + "baseline_cores_busy"] = bare_busy
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
    result["baseline"] = (
        "bare workflow already started and waiting, one no-op Update (same server, same run, same concurrency)"
    )
    first, top = f"c{levels[0]}_", f"c{levels[-1]}_"
    result["summary"] = (
        f"at {levels[0]} client: decision answered p50 {result[first + 'answered_p50_ms']:.0f} ms = "
        f"{result[first + 'answered_ratio_p50']}x a bare Update, read back through the API "
        f"{result[first + 'p50_ms']:.0f} ms = {result[first + 'ratio_p50']}x; "
        f"{result[top + 'per_s']:.1f}/s at {levels[-1]} clients"
    )
    return result


def run(n: int | None = None, levels: tuple[int, ...] = CLIENTS) -> dict:
    scale = float(os.environ.get("BENCH_SCALE", "1"))
    return asyncio.run(_measure(n or max(max(levels), round(N * scale)), levels))


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
    os._exit(0)
