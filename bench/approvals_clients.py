"""Approval decisions per second against concurrent clients, on the embedded stack as `make run`
runs it: SQLite, a Temporal dev server, the web app (uvicorn) and the worker each in a process of
their own; this process only generates load. Each client takes the next open request from
finance's inbox and POSTs its decision, which returns once the decision (and, for these credit
limits, the new limit) is committed and the workflow told.
Temporal runs file-backed, as `make run` runs it. Baseline in the same run and at the same concurrency: a bare workflow's one no-op Update.

    BENCH_SCALE=0.25 nice python -m bench.approvals_clients   # fewer decisions per client count
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench._meter import machine_busy, process_cpu
from bench.approvals import NoopUpdateWorkflow, pct, temporal_pid
from tests.helpers import free_port

CLIENTS = (1, 5, 20)
PER_CLIENT_COUNT = 160  # decisions per client count, before BENCH_SCALE (the inbox lists 500)


async def _wait_http(url: str, proc: subprocess.Popen, log: Path) -> None:
    async with httpx.AsyncClient() as c:
        for _ in range(600):
            if proc.poll() is not None:
                raise RuntimeError(f"process died; see {log}")
            try:
                await c.get(url)
                return
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} never answered")


async def _drive(items: list, clients: int, call) -> tuple[float, list[float]]:
    """`await call(item)` for every item, `clients` at a time; (seconds, latencies)."""
    todo, latencies = iter(items), []

    async def client() -> None:
        for item in todo:
            t = time.perf_counter()
            await call(item)
            latencies.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    await asyncio.gather(*[client() for _ in range(clients)])
    return time.perf_counter() - t0, latencies


async def _measure(clients: tuple[int, ...], n: int) -> dict:
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker

    from backroom.audit.context import Actor
    from backroom.auth import service as auth
    from backroom.branches.service import ensure_branch
    from backroom.customers.schemas import CustomerCreate
    from backroom.customers.service import create_customer
    from backroom.db.migrate import upgrade_async
    from backroom.db.session import make_engine, make_sessionmaker
    from backroom.temporal import dev_server_args
    from tests.conftest import binary

    total = n * len(clients)
    tmp = Path(tempfile.mkdtemp(prefix="bench-approvals-clients-"))
    url = os.environ.get("BENCH_PG") or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    await upgrade_async(url)
    engine = make_engine(url)
    actor = Actor.system("bench")
    async with make_sessionmaker(engine).begin() as s:
        branch = await ensure_branch(s, actor=actor, code="BENCH", name="Bench")
        users = {}
        for role in ("clerk", "finance"):
            users[role] = await auth.create_user(
                s,
                actor=actor,
                username=role,
                full_name=role.title(),
                password="benchmark",
                grants=[(role, branch.id)],
            )
        customers = [
            await create_customer(s, actor=actor, data=CustomerCreate(name=f"C{i}", home_branch_id=branch.id))
            for i in range(total)
        ]
        tokens = {
            r: (await auth.create_token(s, actor=actor, user_id=u.id, name="bench"))[0]
            for r, u in users.items()
        }
    await engine.dispose()

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        data_converter=pydantic_data_converter,
        dev_server_extra_args=[*dev_server_args(), "--db-filename", str(tmp / "temporal.db")],
    )
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    port = free_port()
    proc_env = {
        **os.environ,
        "DATABASE_URL": url,
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "BACKROOM_TASK_QUEUE": queue,
        "BACKROOM_VAR": str(tmp),
        "SECRET_KEY": "bench",
        "STRIPE_API_KEY": "sk_test_unused",  # no payments here: the worker starts no stand-in
    }
    procs = {
        "worker": subprocess.Popen(
            [sys.executable, "-m", "worker"],
            env=proc_env,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp / "worker.log", "w"),
        ),
        "api": subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port)],
            env=proc_env,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp / "api.log", "w"),
        ),
    }
    base = f"http://127.0.0.1:{port}"
    limits = httpx.Limits(max_connections=max(clients) * 2)
    api = {
        r: httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {t}"}, timeout=60, limits=limits
        )
        for r, t in tokens.items()
    }
    results = []
    try:
        await _wait_http(base + "/healthz", procs["api"], tmp / "api.log")
        todo = iter(customers)

        async def ask() -> None:
            for c in todo:
                r = await api["clerk"].post(
                    f"/api/v1/customers/{c.id}/credit-limit-requests",
                    json={"requested_limit_minor": 100_000, "reason": "benchmark"},
                )
                r.raise_for_status()

        await asyncio.gather(*[ask() for _ in range(8)])
        ids: list[int] = []
        for _ in range(1200):  # every gate has opened its inbox row
            ids = [i["id"] for i in (await api["finance"].get("/api/v1/approvals")).json()["items"]]
            if len(ids) >= total:
                break
            await asyncio.sleep(0.25)
        if len(ids) < total:
            raise RuntimeError(f"only {len(ids)} of {total} approvals opened; see {tmp}")
        async with Worker(env.client, task_queue=queue + "-bare", workflows=[NoopUpdateWorkflow]):
            for k, c in enumerate(clients):

                async def decide(approval_id: int) -> None:
                    r = await api["finance"].post(
                        f"/api/v1/approvals/{approval_id}/decision", json={"approve": True}
                    )
                    r.raise_for_status()

                # The load generator too (this process), and the whole machine: whether the
                # decisions ran out of CPU or waited on something else.
                watched = {
                    **{name: p.pid for name, p in procs.items()},
                    "temporal": temporal_pid(),
                    "load_generator": os.getpid(),
                }
                cpu0 = {name: process_cpu(pid, children=False) for name, pid in watched.items()}
                busy0 = machine_busy()[0]
                wall, lat = await _drive(ids[k * n : (k + 1) * n], c, decide)
                cpu = {
                    name: round((process_cpu(pid, children=False) - cpu0[name]) / wall, 2)
                    for name, pid in watched.items()
                }
                cpu["machine"] = round((machine_busy()[0] - busy0) / wall, 2)
                handles = [
                    await env.client.start_workflow(
                        NoopUpdateWorkflow.run, id=f"bare-{queue}-{c}-{i}", task_queue=queue + "-bare"
                    )
                    for i in range(n)
                ]
                busy0 = machine_busy()[0]
                bare_wall, bare_lat = await _drive(
                    handles, c, lambda h: h.execute_update(NoopUpdateWorkflow.poke)
                )
                bare_machine = round((machine_busy()[0] - busy0) / bare_wall, 2)
                rate, bare_rate = n / wall, n / bare_wall
                results.append(
                    {
                        "clients": c,
                        "decisions": n,
                        "decisions_per_s": round(rate, 1),
                        "p50_ms": round(pct(lat, 0.5) * 1000, 1),
                        "p99_ms": round(pct(lat, 0.99) * 1000, 1),
                        "cores_busy": cpu,
                        "bare_updates_per_s": round(bare_rate, 1),
                        "bare_p50_ms": round(pct(bare_lat, 0.5) * 1000, 1),
                        "bare_machine_cores_busy": bare_machine,
                        "ratio_throughput": round(rate / bare_rate, 3),
                    }
                )
    finally:
        for p in procs.values():
            p.terminate()
            p.wait(15)
        for c in api.values():
            await c.aclose()
        await env.shutdown()
    return {
        "name": "approval decisions per second by clients",
        "baseline": "bare workflow, one no-op Update per decision (same server, same run, same clients)",
        "database": "PostgreSQL" if os.environ.get("BENCH_PG") else "SQLite (embedded default)",
        "runs": results,
    }


def run(clients: tuple[int, ...] = CLIENTS) -> dict:
    scale = float(os.environ.get("BENCH_SCALE", "1"))
    return asyncio.run(_measure(clients, max(10, int(PER_CLIENT_COUNT * scale))))


if __name__ == "__main__":
    import json

    wanted = tuple(int(c) for c in sys.argv[1:]) or CLIENTS
    print(json.dumps(run(wanted), indent=2))
    os._exit(0)
