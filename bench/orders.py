"""Online orders end to end on the embedded stack (SQLite, Temporal dev server, localstripe,
local carrier, real HTTP), 20 concurrent clients:
- throughput: orders/minute from checkout to shipped (pick/pack/label/ship automated);
- checkout latency p50/p99 (POST /api/v1/carts/{id}/checkout);
each beside a bare-Temporal baseline measured in the same run (a trivial workflow: start +
result, and start + one no-op Update), reported as ratios."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from temporalio import workflow

from bench.approvals import NoopUpdateWorkflow, pct
from tests.helpers import free_port

N = 120
CLIENTS = 20


@workflow.defn(sandboxed=False)
class TrivialWorkflow:
    @workflow.run
    async def run(self) -> str:
        return "done"


async def _measure(n: int, clients: int) -> dict:
    import uvicorn
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker

    from api.app import create_app
    from backroom.audit.context import Actor
    from backroom.auth import service as auth
    from backroom.branches.service import ensure_branch
    from backroom.catalog import service as catalog
    from backroom.catalog.schemas import ProductCreate
    from backroom.db.migrate import upgrade_async
    from backroom.db.session import make_engine, make_sessionmaker
    from backroom.payments.localstripe_server import start_localstripe
    from backroom.settings import Settings
    from backroom.temporal import dev_server_args
    from tests.conftest import binary

    tmp = Path(tempfile.mkdtemp(prefix="bench-orders-"))
    url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    if os.environ.get(
        "BENCH_PG"
    ):  # e.g. postgresql+psycopg://postgres@127.0.0.1:5432/bench_orders (empty db)
        url = os.environ["BENCH_PG"]
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
        product = await catalog.create_product(
            s,
            actor=actor,
            data=ProductCreate(
                sku="BENCH-1",
                name="Bench widget",
                category="bench",
                price_minor=2500,
                tax_rate_bp=800,
                weight_g=400,
            ),
        )
        await catalog.adjust_stock(
            s, actor=actor, product_id=product.id, branch_id=branch.id, delta=10 * n, reason="bench"
        )
        token, _ = await auth.create_token(s, actor=actor, user_id=clerk.id, name="bench")
        from backroom.customers.schemas import CustomerCreate
        from backroom.customers.service import create_customer

        buyer = await create_customer(
            s, actor=actor, data=CustomerCreate(name="Bench buyer", home_branch_id=branch.id)
        )

    stripe = start_localstripe(port=0)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        data_converter=pydantic_data_converter,
        dev_server_extra_args=dev_server_args(),
    )
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        BACKROOM_VAR=tmp,
        SECRET_KEY="bench",
        BACKROOM_TASK_QUEUE=queue,
        STRIPE_API_KEY="sk_test_bench",
        STRIPE_API_BASE=stripe.url,
        ORDER_AUTO_FULFIL=True,
        ORDER_REVIEW_OVER_MINOR=0,
    )
    app = create_app(settings, sessionmaker=sm, read_sessionmaker=rsm, temporal_client=env.client)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serve = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    api = httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
        limits=httpx.Limits(max_connections=clients * 2),
    )
    body = {
        "email": "b@example.com",
        "ship_name": "Bench",
        "ship_line1": "1 Road",
        "ship_city": "Town",
        "ship_postcode": "10001",
        "ship_country": "US",
        "payment_method": "pm_card_visa",
    }
    checkout_s: list[float] = []
    shipped_at: list[float] = []
    todo = iter(range(n))

    async def customer() -> None:
        for _ in todo:
            cart = (
                await api.post("/api/v1/carts", json={"branch_id": branch.id, "customer_id": buyer.id})
            ).json()
            (
                await api.post(f"/api/v1/carts/{cart['id']}/items", json={"product_id": product.id, "qty": 1})
            ).raise_for_status()
            t0 = time.perf_counter()
            r = await api.post(
                f"/api/v1/carts/{cart['id']}/checkout",
                json=body,
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
            r.raise_for_status()
            checkout_s.append(time.perf_counter() - t0)
            while (await api.get(f"/api/v1/orders/{r.json()['id']}")).json()["status"] not in (
                "shipped",
                "completed",
            ):
                if worker_proc.poll() is not None:
                    raise RuntimeError(f"the worker died; see {tmp / 'worker.log'}")
                await asyncio.sleep(0.25)  # gentle polling: the clients must not be the load
            shipped_at.append(time.perf_counter())

    bare_latency: list[float] = []
    # The worker runs in its own process, as in production (`python -m worker`), so the web app,
    # the clients and the workflows do not share one interpreter.
    worker_env = {
        **os.environ,
        "DATABASE_URL": url,
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "BACKROOM_TASK_QUEUE": queue,
        "STRIPE_API_KEY": "sk_test_bench",
        "STRIPE_API_BASE": stripe.url,
        "ORDER_AUTO_FULFIL": "true",
        "ORDER_REVIEW_OVER_MINOR": "0",
        "BACKROOM_VAR": str(tmp),
        "SECRET_KEY": "bench",
    }
    worker_proc = subprocess.Popen(
        [sys.executable, "-m", "worker"],
        env=worker_env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp / "worker.log", "w"),
    )
    try:
        async with Worker(
            env.client, task_queue=queue + "-bare", workflows=[TrivialWorkflow, NoopUpdateWorkflow]
        ):
            start = time.perf_counter()
            await asyncio.gather(*[customer() for _ in range(clients)])
            orders_per_min = n / (max(shipped_at) - start) * 60

            bare_todo = iter(range(n))

            async def bare_client() -> None:
                for i in bare_todo:
                    await env.client.execute_workflow(
                        TrivialWorkflow.run, id=f"trivial-{queue}-{i}", task_queue=queue + "-bare"
                    )

            t0 = time.perf_counter()
            await asyncio.gather(*[bare_client() for _ in range(clients)])
            bare_per_min = n / (time.perf_counter() - t0) * 60

            lat_todo = iter(range(n))

            async def bare_update() -> None:
                for i in lat_todo:
                    t = time.perf_counter()
                    handle = await env.client.start_workflow(
                        NoopUpdateWorkflow.run,
                        id=f"noop-{queue}-{i}",
                        task_queue=queue + "-bare",
                        execution_timeout=timedelta(minutes=5),
                    )
                    await handle.execute_update(NoopUpdateWorkflow.poke)
                    bare_latency.append(time.perf_counter() - t)

            await asyncio.gather(*[bare_update() for _ in range(clients)])
    finally:
        worker_proc.terminate()
        worker_proc.wait(10)
        server.should_exit = True
        await serve
        await api.aclose()
        await env.shutdown()
        await engine.dispose()
        stripe.stop()
    ms = lambda v: round(v * 1000, 1)  # noqa: E731
    result = {
        "name": "online orders: checkout -> shipped",
        "n": n,
        "clients": clients,
        "orders_per_min": round(orders_per_min, 1),
        "baseline_workflows_per_min": round(bare_per_min, 1),
        "checkout_p50_ms": ms(pct(checkout_s, 0.5)),
        "checkout_p99_ms": ms(pct(checkout_s, 0.99)),
        "baseline": "trivial workflow (start+result) for throughput; start + one no-op Update for latency; "
        "same server, same run, same concurrency",
        "baseline_p50_ms": ms(pct(bare_latency, 0.5)),
        "baseline_p99_ms": ms(pct(bare_latency, 0.99)),
    }
    result["ratio_throughput"] = round(result["orders_per_min"] / result["baseline_workflows_per_min"], 3)
    result["ratio_checkout_p50"] = round(result["checkout_p50_ms"] / result["baseline_p50_ms"], 2)
    result["ratio_checkout_p99"] = round(result["checkout_p99_ms"] / result["baseline_p99_ms"], 2)
    result["summary"] = (
        f"{result['orders_per_min']:.0f} orders/min checkout->shipped at {clients} clients "
        f"(bare workflows: {result['baseline_workflows_per_min']:.0f}/min); checkout p50 "
        f"{result['checkout_p50_ms']:.0f} ms = {result['ratio_checkout_p50']}x a bare start+Update"
    )
    result["database"] = "PostgreSQL" if os.environ.get("BENCH_PG") else "SQLite (embedded default)"
    return result


def run(n: int = N, clients: int = CLIENTS) -> dict:
    return asyncio.run(_measure(n, clients))


if __name__ == "__main__":
    import json
    import os

    print(json.dumps(run(), indent=2))
    os._exit(0)
