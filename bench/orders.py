"""Online orders end to end, against a bare Temporal workload of the same shape, in one run.

The stack is the one `make run` starts, each part in its own process: Temporal's dev server
file-backed (`--db-filename`), the API (`backroom api`), the worker (`python -m worker`, labels
in its LABEL_PROCESSES), localstripe; SQLite (or BENCH_PG). The load generator is a process of
its own (bench/_load.py), started after the worker is polling and warmed up by a few orders.
Orders buy a mix of 1-3 products stocked in different branches (one parcel per branch).

The baseline (bench/_bare.py, its own worker process, the same workflow sandbox) does per order
what a real order did in Temporal, counted from the warm-up orders' histories: as many
workflows, activities, Updates and signals, with no-op bodies. Both are driven alike, at 1, 5
and 20 clients: checkout latency against the bare "last Update + start", throughput from the
first request to the last order shipped (read from the timeline afterwards: nothing polls the
API during the run), and CPU per order of the worker, the API and Temporal (from /proc), with
the machine's other load in the same window.

BENCH_SCALE (default 1: 120 orders per level) scales the number of orders; BENCH_PG runs on an
empty PostgreSQL database instead of SQLite."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC
from pathlib import Path

import httpx
from temporalio.api.enums.v1 import EventType

from bench._meter import Meter, descendants, postgres_pid
from bench.approvals import pct
from tests.helpers import free_port

N = 120
CLIENTS = (1, 5, 20)
BRANCHES = 3
PRODUCTS = 6
WARM_BASKETS = ((0,), (1, 2), (3, 4, 5))  # one of each basket size: the mean shape of the mix


def scale() -> float:
    return float(os.environ.get("BENCH_SCALE", "1"))


def baskets(products: list[int], n: int, seed: int) -> list[list[int]]:
    """n baskets of 1-3 distinct products (so 1-3 branches, as products are stocked one per branch)."""
    rnd = random.Random(seed)
    return [rnd.sample(products, rnd.choice((1, 2, 3))) for _ in range(n)]


def _shape(history) -> dict:
    """What a workflow did, counted from its history; a local activity is a marker there."""
    counts = {"activities": 0, "local_activities": 0, "updates": 0, "signals": 0}
    for e in history.events:
        if e.HasField("activity_task_scheduled_event_attributes"):
            counts["activities"] += 1
        elif (
            e.HasField("marker_recorded_event_attributes")
            and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
        ):
            counts["local_activities"] += 1
        elif e.HasField("workflow_execution_update_accepted_event_attributes"):
            counts["updates"] += 1
        elif e.HasField("workflow_execution_signaled_event_attributes"):
            counts["signals"] += 1
    return counts


def _census(histories) -> str:
    """History events per order by type, summed over the order's workflows and averaged over
    orders: what the Temporal server stored and the worker replayed, beyond the shape."""
    counts: dict[str, float] = {}
    for history in histories:
        for e in history.events:
            kind = EventType.Name(e.event_type).removeprefix("EVENT_TYPE_").lower()
            counts[kind] = counts.get(kind, 0) + 1
    per = len(histories) / 2  # two workflows per order
    total = sum(counts.values()) / per
    top = sorted(counts.items(), key=lambda kv: -kv[1])
    return f"{total:.0f} events/order: " + ", ".join(f"{k} {v / per:.1f}" for k, v in top)


def _mean_shape(shapes: list[dict]) -> dict:
    return {k: round(sum(s[k] for s in shapes) / len(shapes)) for k in shapes[0]}


def _load(spec: dict) -> dict:
    """Run the load generator process to its end; its one JSON line is the result."""
    done = subprocess.run(
        [sys.executable, "-m", "bench._load", json.dumps(spec)], capture_output=True, text=True, timeout=3600
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"load generator failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _wait_for(check, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {timeout:.0f} s")
        time.sleep(0.1)


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _temporal_server_pid() -> int:
    """The dev server WorkflowEnvironment started (a child of this process)."""
    for pid in descendants(os.getpid()):
        try:
            if b"start-dev" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        except OSError:
            continue
    raise RuntimeError("the Temporal dev server process was not found")


async def _measure(n: int, levels: tuple[int, ...]) -> dict:
    from sqlalchemy import func, select
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from backroom.audit.context import Actor
    from backroom.auth import service as auth
    from backroom.branches.service import ensure_branch
    from backroom.carts.flow import cart_workflow_id
    from backroom.catalog import service as catalog
    from backroom.catalog.schemas import ProductCreate
    from backroom.customers.schemas import CustomerCreate
    from backroom.customers.service import create_customer
    from backroom.db.migrate import upgrade_async
    from backroom.db.session import make_engine, make_sessionmaker
    from backroom.orders.models import Order, OrderEvent
    from backroom.orders.service import workflow_id as order_workflow_id
    from backroom.payments.localstripe_server import start_localstripe
    from backroom.temporal import dev_server_args
    from tests.conftest import binary

    tmp = Path(tempfile.mkdtemp(prefix="bench-orders-"))
    url = os.environ.get("BENCH_PG") or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    await upgrade_async(url)
    engine = make_engine(url)
    sm, rsm = make_sessionmaker(engine), make_sessionmaker(engine, readonly=True)
    actor = Actor.system("bench")
    total_orders = len(WARM_BASKETS) + n * len(levels)
    async with sm.begin() as s:
        branches = [
            await ensure_branch(s, actor=actor, code=f"BENCH{i}", name=f"Bench {i}") for i in range(BRANCHES)
        ]
        clerk = await auth.create_user(
            s,
            actor=actor,
            username="clerk",
            full_name="Clerk",
            password="benchmark",
            grants=[("clerk", None)],
        )
        products = []
        for i in range(PRODUCTS):
            product = await catalog.create_product(
                s,
                actor=actor,
                data=ProductCreate(
                    sku=f"BENCH-{i}",
                    name=f"Bench item {i}",
                    category="bench",
                    price_minor=1500 + 500 * i,
                    tax_rate_bp=800,
                    weight_g=300 + 150 * i,
                ),
            )
            await catalog.adjust_stock(
                s,
                actor=actor,
                product_id=product.id,
                branch_id=branches[i % BRANCHES].id,
                delta=2 * total_orders,
                reason="bench",
            )
            products.append(product.id)
        token, _ = await auth.create_token(s, actor=actor, user_id=clerk.id, name="bench")
        buyer = await create_customer(
            s, actor=actor, data=CustomerCreate(name="Bench buyer", home_branch_id=branches[0].id)
        )

    stripe = start_localstripe(port=0)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        data_converter=pydantic_data_converter,
        dev_server_extra_args=dev_server_args(),
        dev_server_database_filename=str(tmp / "temporal.db"),  # file-backed, as `make run`
    )
    address = env.client.service_client.config.target_host
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    port = free_port()
    child_env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        # Bytecode is cached as deployed (the image's pip install compiles it, `make run` writes
        # __pycache__), here under the run's directory. Without it every workflow run's sandbox
        # recompiled its module from source (~11 ms of the worker's CPU per order, profiled).
        "PYTHONPYCACHEPREFIX": str(tmp / "pycache"),
        "DATABASE_URL": url,
        "TEMPORAL_ADDRESS": address,
        "BACKROOM_TASK_QUEUE": queue,
        "STRIPE_API_KEY": "sk_test_bench",
        "STRIPE_API_BASE": stripe.url,
        "ORDER_AUTO_FULFIL": "true",
        "ORDER_REVIEW_OVER_MINOR": "0",
        "BACKROOM_VAR": str(tmp),
        "SECRET_KEY": "bench",
        "COOKIE_SECURE": "false",
    }
    logs = {name: open(tmp / f"{name}.log", "w") for name in ("worker", "api", "bare")}
    procs = {
        "worker": subprocess.Popen(
            [sys.executable, "-m", "worker"], env=child_env, stdout=logs["worker"], stderr=subprocess.STDOUT
        ),
        "api": subprocess.Popen(
            [sys.executable, "-m", "backroom.cli", "api", "--host", "127.0.0.1", "--port", str(port)],
            env=child_env,
            stdout=logs["api"],
            stderr=subprocess.STDOUT,
        ),
        "bare": subprocess.Popen(
            [sys.executable, "-m", "bench._bare", address, queue + "-bare"],
            env=child_env,
            stdout=logs["bare"],
            stderr=subprocess.STDOUT,
        ),
    }
    base_url = f"http://127.0.0.1:{port}"

    def alive() -> None:
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"the {name} process died; see {tmp / (name + '.log')}")

    def polling(name: str) -> bool:
        alive()
        return "worker polling" in (tmp / f"{name}.log").read_text()

    temporal_pid = _temporal_server_pid()

    async def histories_of(order_ids: list[int]) -> list[list]:
        """Each order's [cart, order] workflow histories."""
        async with rsm() as s:
            carts = dict(
                (await s.execute(select(Order.id, Order.cart_id).where(Order.id.in_(order_ids)))).all()
            )
        return [
            [
                await env.client.get_workflow_handle(cart_workflow_id(carts[i])).fetch_history(),
                await env.client.get_workflow_handle(order_workflow_id(i)).fetch_history(),
            ]
            for i in order_ids
        ]

    # A local PostgreSQL server's CPU is the order path's too (SQLite's is inside the processes).
    server = postgres_pid() if os.environ.get("BENCH_PG") else None
    database = {"postgres": server} if server else {}

    async def shipped(order_ids: list[int], within: float) -> float:
        """Wait (reading the database twice a second) until every order shipped; the last shipment's time."""
        deadline = time.monotonic() + within
        while True:
            alive()
            async with rsm() as s:
                left = await s.scalar(
                    select(func.count())
                    .select_from(Order)
                    .where(
                        Order.id.in_(order_ids), Order.status.not_in(("shipped", "completed", "delivered"))
                    )
                )
            if not left:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{left} orders did not ship within {within:.0f} s; see {tmp}")
            await asyncio.sleep(0.5)
        async with rsm() as s:
            last = await s.scalar(
                select(func.max(OrderEvent.at)).where(
                    OrderEvent.order_id.in_(order_ids), OrderEvent.kind == "shipped"
                )
            )
        return (last if last.tzinfo else last.replace(tzinfo=UTC)).timestamp()

    orders_spec = {
        "mode": "orders",
        "base_url": base_url,
        "token": token,
        "branch_id": branches[0].id,
        "customer_id": buyer.id,
        "checkout": {
            "email": "b@example.com",
            "ship_name": "Bench",
            "ship_line1": "1 Road",
            "ship_city": "Town",
            "ship_postcode": "10001",
            "ship_country": "US",
            "payment_method": "pm_card_visa",
        },
    }
    result: dict = {
        "name": "online orders: checkout -> shipped, against a bare workload of the same shape",
        "database": "PostgreSQL" if os.environ.get("BENCH_PG") else "SQLite (embedded default)",
        "temporal": "dev server, file-backed (as make run)",
        "orders_per_level": n,
    }
    try:
        await asyncio.to_thread(_wait_for, lambda: polling("worker") and polling("bare"), "the workers")
        await asyncio.to_thread(_wait_for, lambda: _http_ok(f"{base_url}/healthz"), "the API", 60)
        # Warm-up, untimed: one order of each basket size; their histories give the bare shape.
        warm = await asyncio.to_thread(
            _load, {**orders_spec, "clients": 1, "baskets": [[products[i] for i in b] for b in WARM_BASKETS]}
        )
        await shipped(warm["order_ids"], 300)
        cart_shapes, order_shapes, histories = [], [], []
        for pair in await histories_of(warm["order_ids"]):
            histories += pair
            cart_shapes.append(_shape(pair[0]))
            order_shapes.append(_shape(pair[1]))
        cart_shape, order_shape = _mean_shape(cart_shapes), _mean_shape(order_shapes)
        result["shape_per_order"] = (
            f"2 workflows; cart {cart_shape['activities']} activities + {cart_shape['local_activities']} local, "
            f"{cart_shape['updates']} Updates, {cart_shape['signals']} signals; order "
            f"{order_shape['activities']} activities + {order_shape['local_activities']} local, "
            f"{order_shape['updates']} Updates, {order_shape['signals']} signals (mean of the warm-up orders)"
        )
        bare_spec = {
            "mode": "bare",
            "address": address,
            "queue": queue + "-bare",
            "cart": cart_shape,
            "order": order_shape,
        }
        await asyncio.to_thread(_load, {**bare_spec, "clients": 1, "n": 3, "run": "warm"})
        result["history_per_order"] = _census(histories)
        result["bare_history_per_order"] = _census(
            [
                await env.client.get_workflow_handle(f"bare-{kind}-warm-{i}").fetch_history()
                for i in range(3)
                for kind in ("cart", "order")
            ]
        )

        for level, clients in enumerate(levels):
            count = max(n, clients)
            picked = baskets(products, count, seed=level)
            meter = Meter(
                {"worker": procs["worker"].pid, "api": procs["api"].pid, "temporal": temporal_pid, **database}
            ).start()
            run = await asyncio.to_thread(_load, {**orders_spec, "clients": clients, "baskets": picked})
            last = await shipped(run["order_ids"], 600 + 10 * count)
            m = meter.stop()
            bare_meter = Meter({"worker": procs["bare"].pid, "temporal": temporal_pid, **database}).start()
            bare = await asyncio.to_thread(
                _load, {**bare_spec, "clients": clients, "n": count, "run": f"c{clients}"}
            )
            b = bare_meter.stop()
            # Under load a workflow task can take several events at once, or not: count them here too.
            sample = [h for pair in await histories_of(run["order_ids"][:10]) for h in pair]
            bare_sample = [
                await env.client.get_workflow_handle(f"bare-{kind}-c{clients}-{i}").fetch_history()
                for i in range(min(10, count))
                for kind in ("cart", "order")
            ]

            per_min = count / (last - run["started"]) * 60
            bare_per_min = count / (bare["done"] - bare["started"]) * 60
            k = f"c{clients}_"
            ms = lambda v: round(v * 1000, 1)  # noqa: E731
            result[k + "orders_per_min"] = round(per_min, 1)
            result[k + "bare_per_min"] = round(bare_per_min, 1)
            result[k + "ratio_throughput"] = round(per_min / bare_per_min, 3)
            result[k + "checkout_p50_ms"] = ms(pct(run["checkout_s"], 0.5))
            result[k + "checkout_p99_ms"] = ms(pct(run["checkout_s"], 0.99))
            result[k + "retried_503"] = run.get("retries_503", 0)  # the client's waits are in the times
            result[k + "bare_checkout_p50_ms"] = ms(pct(bare["checkout_s"], 0.5))
            result[k + "bare_checkout_p99_ms"] = ms(pct(bare["checkout_s"], 0.99))
            result[k + "ratio_checkout_p50"] = round(
                pct(run["checkout_s"], 0.5) / pct(bare["checkout_s"], 0.5), 2
            )
            result[k + "ratio_checkout_p99"] = round(
                pct(run["checkout_s"], 0.99) / pct(bare["checkout_s"], 0.99), 2
            )
            result[k + "worker_cpu_ms_per_order"] = round(m["cpu_s"]["worker"] / count * 1000, 1)
            result[k + "bare_worker_cpu_ms_per_order"] = round(b["cpu_s"]["worker"] / count * 1000, 1)
            result[k + "ratio_worker_cpu"] = round(m["cpu_s"]["worker"] / max(b["cpu_s"]["worker"], 1e-6), 2)
            result[k + "api_cpu_ms_per_order"] = round(m["cpu_s"]["api"] / count * 1000, 1)
            result[k + "temporal_cpu_ms_per_order"] = round(m["cpu_s"]["temporal"] / count * 1000, 1)
            result[k + "bare_temporal_cpu_ms_per_order"] = round(b["cpu_s"]["temporal"] / count * 1000, 1)
            if server:
                result[k + "postgres_cpu_ms_per_order"] = round(m["cpu_s"]["postgres"] / count * 1000, 1)
            # Everything the machine did per order (what bounds throughput once both cores are busy).
            result[k + "machine_cpu_ms_per_order"] = round(m["busy_s"] / count * 1000, 1)
            result[k + "bare_machine_cpu_ms_per_order"] = round(b["busy_s"] / count * 1000, 1)
            result[k + "ratio_machine_cpu"] = round(m["busy_s"] / max(b["busy_s"], 1e-6), 2)
            result[k + "history_per_order"] = _census(sample)
            result[k + "bare_history_per_order"] = _census(bare_sample)
            result[k + "other_load_cores"] = round(max(m["other_load_cores"], b["other_load_cores"]), 2)
            result[k + "loadavg"] = f"{m['loadavg']}; bare {b['loadavg']}"
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        await env.shutdown()
        await engine.dispose()
        stripe.stop()
    top = f"c{levels[-1]}_"
    result["summary"] = (
        f"{result[top + 'orders_per_min']:.0f} orders/min checkout->shipped at {levels[-1]} clients = "
        f"{result[top + 'ratio_throughput']}x the same-shape bare workload; checkout p99 "
        f"{result[top + 'checkout_p99_ms']:.0f} ms = {result[top + 'ratio_checkout_p99']}x bare; worker CPU "
        f"{result[top + 'worker_cpu_ms_per_order']:.0f} ms/order = {result[top + 'ratio_worker_cpu']}x bare"
    )
    return result


def run(n: int | None = None, clients: tuple[int, ...] = CLIENTS) -> dict:
    return asyncio.run(_measure(n or max(3, round(N * scale())), clients))


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
    sys.stdout.flush()
    os._exit(0)
