"""Coupons and abandoned-cart recovery on PostgreSQL, two measurements:

- `redemption`: 20 concurrent checkouts (`orders.place_order`, the use case the API's and the
  storefront's checkout commit in one transaction: re-price with the discount sources, reserve
  stock, reserve the promotion's use) on ONE hot promotion, against the same checkouts without
  a code, interleaved in the same run: orders/s and p50/p99 per checkout, and the ratios.
- `carts`: the worker's resident memory (RSS of a real `build_worker` process on a Temporal
  dev server) with N open carts (default 10,000), each with an item and its reminder timer
  armed (1 h after the last change), sampled as the carts open; idle worker as the baseline.

`run() -> dict`; `python -m bench promotions`."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

PG_ADMIN = os.environ.get("BACKROOM_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
CLIENTS = 20
CHECKOUTS = 400  # per mode
CARTS = 10_000


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def _new_db() -> tuple[str, str]:
    name = f"bench_promotions_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    return name, base.replace("postgresql://", "postgresql+psycopg://") + "/" + name


def _drop_db(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _setup(url: str, stock: int):
    from backroom.audit.context import Actor
    from backroom.branches.service import ensure_branch
    from backroom.catalog import service as catalog
    from backroom.catalog.schemas import ProductCreate
    from backroom.db.migrate import upgrade_async
    from backroom.db.session import make_engine, make_sessionmaker

    await upgrade_async(url)
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    actor = Actor.system("bench")
    async with sm.begin() as s:
        branch = await ensure_branch(s, actor=actor, code="BENCH", name="Bench")
        product = await catalog.create_product(
            s,
            actor=actor,
            data=ProductCreate(
                sku="BENCH-1", name="Bench thing", category="Bench", price_minor=2500, weight_g=300
            ),
        )
        await catalog.adjust_stock(
            s, actor=actor, product_id=product.id, branch_id=branch.id, delta=stock, reason="bench"
        )
    return engine, sm, branch, product, actor


async def _redemption(clients: int, checkouts: int) -> dict:
    from backroom.orders import service as orders
    from backroom.orders.schemas import CheckoutRequest
    from backroom.promotions import service as promotions
    from backroom.promotions.schemas import PromotionCreate

    name, url = _new_db()
    try:
        engine, sm, branch, product, actor = await _setup(url, stock=10 * checkouts)
        async with sm.begin() as s:
            promo = await promotions.create_promotion(
                s,
                actor=actor,
                data=PromotionCreate(
                    name="Hot", kind="percentage", percent_bp=1000, usage_limit=10**6, code="HOT10"
                ),
                branch_id=branch.id,
                currency="USD",
            )
            await promotions.submit(s, actor=actor, promotion_id=promo.id)
        seq = iter(range(10**9))

        async def one(codes: list[str]) -> float:
            n = next(seq)
            body = CheckoutRequest(
                email=f"b{n}@example.com",
                ship_name="Bench",
                ship_line1="1 Main St",
                ship_city="Town",
                ship_postcode="12345",
                payment_method="pm_card_visa",
            )
            t0 = time.perf_counter()
            async with sm.begin() as s:
                order = await orders.place_order(
                    s,
                    actor=actor,
                    cart_id=None,
                    branch_id=branch.id,
                    items=[(product.id, 1)],
                    body=body,
                    idempotency_key=f"bench-{n}",
                    fingerprint=str(n),
                    currency="USD",
                    codes=codes,
                )
            if bool(codes) != bool(order.discount_minor):
                raise AssertionError("the hot code must discount every order that carries it")
            return (time.perf_counter() - t0) * 1000

        async def batch(codes: list[str], n: int) -> tuple[list[float], float]:
            queue = asyncio.Queue()
            for _ in range(n):
                queue.put_nowait(None)
            times: list[float] = []

            async def client() -> None:
                while not queue.empty():
                    queue.get_nowait()
                    times.append(await one(codes))

            t0 = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(clients)))
            return times, time.perf_counter() - t0

        await batch(["HOT10"], clients)  # warm-up: connections, caches
        await batch([], clients)
        res = {"code": ([], 0.0), "plain": ([], 0.0)}
        for _ in range(2):  # interleaved halves, so drift hits both modes alike
            for mode, codes in (("plain", []), ("code", ["HOT10"])):
                times, secs = await batch(codes, checkouts // 2)
                res[mode] = (res[mode][0] + times, res[mode][1] + secs)
        async with sm() as s:
            promo = await promotions.get_promotion(s, promo.id)
            uses = promo.uses_count
        await engine.dispose()
    finally:
        _drop_db(name)
    out = {}
    for mode in ("code", "plain"):
        times, secs = res[mode]
        out[mode] = {
            "orders_per_s": len(times) / secs,
            "p50_ms": statistics.median(times),
            "p99_ms": pct(times, 0.99),
        }
    return {
        "clients": clients,
        "checkouts_per_mode": checkouts,
        "hot_promotion_uses": uses,
        "with_code_orders_per_s": out["code"]["orders_per_s"],
        "with_code_p50_ms": out["code"]["p50_ms"],
        "with_code_p99_ms": out["code"]["p99_ms"],
        "no_code_orders_per_s": out["plain"]["orders_per_s"],
        "no_code_p50_ms": out["plain"]["p50_ms"],
        "no_code_p99_ms": out["plain"]["p99_ms"],
        "ratio_throughput_code_vs_plain": out["code"]["orders_per_s"] / out["plain"]["orders_per_s"],
        "ratio_p99_code_vs_plain": out["code"]["p99_ms"] / out["plain"]["p99_ms"],
    }


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _worker_main(url: str, target: str, queue: str) -> None:
    """The measured process: the real worker (every workflow and activity), nothing else."""
    from backroom import temporal
    from backroom.db.models import load_models
    from backroom.db.session import make_engine, make_sessionmaker
    from backroom.settings import Settings
    from worker.registry import Deps, build_worker

    load_models()
    settings = Settings(
        DATABASE_URL=url, TEMPORAL_ADDRESS=target, BACKROOM_TASK_QUEUE=queue, SECRET_KEY="bench"
    )
    client = await temporal.connect(settings)
    deps = Deps(settings=settings, sessionmaker=make_sessionmaker(make_engine(url)))
    async with build_worker(client, deps, task_queue=queue):
        print("worker ready", flush=True)
        await asyncio.Event().wait()


async def _carts(n: int, concurrency: int = 40) -> dict:
    from sqlalchemy import insert
    from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.service import RPCError
    from temporalio.testing import WorkflowEnvironment

    from backroom.carts import service as carts
    from backroom.carts.models import Cart
    from backroom.carts.schemas import CartItem
    from backroom.db.base import utcnow
    from backroom.temporal import dev_server_args
    from tests.conftest import binary

    name, url = _new_db()
    env = worker = None
    try:
        engine, sm, branch, product, _actor = await _setup(url, stock=10 * n)
        now = utcnow()
        async with sm.begin() as s:
            await s.execute(
                insert(Cart),
                [
                    {
                        "branch_id": branch.id,
                        "currency": "USD",
                        "status": "open",
                        "session_key": f"s{i}",
                        "last_activity_at": now,
                    }
                    for i in range(n)
                ],
            )
            cart_rows = list(
                await s.scalars(Cart.__table__.select().with_only_columns(Cart.id).order_by(Cart.id))
            )
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=binary("temporal"),
            data_converter=pydantic_data_converter,
            dev_server_extra_args=dev_server_args(),
        )
        target = env.client.service_client.config.target_host
        queue = f"bench-carts-{uuid.uuid4().hex[:6]}"
        worker = subprocess.Popen(
            [sys.executable, "-m", "bench.promotions", "--worker", url, target, queue],
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", os.getcwd())},
        )
        assert worker.stdout.readline().strip() == b"worker ready"
        await asyncio.sleep(2)
        samples = {"idle_worker_rss_mb": _rss_mb(worker.pid)}
        client: Client = env.client
        done = 0
        latencies: list[float] = []
        sem = asyncio.Semaphore(concurrency)

        class Row:  # carts.send needs id, branch_id, currency
            def __init__(self, cid: int) -> None:
                self.id, self.branch_id, self.currency = cid, branch.id, "USD"

        retries = 0

        async def open_cart(cid: int) -> None:
            # On a loaded machine a workflow task can time out (the server then reports the
            # update as "Workflow Task in failed state" until the retried task runs): retry as
            # the storefront's client would, and count it.
            nonlocal done, retries
            async with sem:
                t0 = time.perf_counter()
                for attempt in range(8):
                    try:
                        await carts.send(
                            client, Row(cid), "add", CartItem(product_id=product.id, qty=1), task_queue=queue
                        )
                        break
                    except (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError):
                        if attempt == 7:
                            raise
                        retries += 1
                        await asyncio.sleep(1 + attempt)
                latencies.append((time.perf_counter() - t0) * 1000)
                done += 1

        t0 = time.perf_counter()
        quarter = max(1, n // 4)
        for i in range(0, n, quarter):  # RSS after each quarter of the carts
            await asyncio.gather(*(open_cart(c) for c in cart_rows[i : i + quarter]))
            samples[f"rss_mb_at_{done}_carts"] = _rss_mb(worker.pid)
        secs = time.perf_counter() - t0
        await asyncio.sleep(5)
        samples[f"rss_mb_{n}_carts_settled"] = _rss_mb(worker.pid)
        # Every cart's reminder timer is armed: the workflow holds its cadence and a due time.
        probe = client.get_workflow_handle(carts.workflow_id(cart_rows[-1]))
        state = await probe.query("reminders")
        armed = bool(state["hours"]) and state["base"] is not None and state["sent"] == 0
        await engine.dispose()
        return {
            "open_carts": n,
            "timers_armed (probe)": armed,
            "add_to_cart_retries": retries,
            "carts_opened_per_s": n / secs,
            "add_to_cart_p50_ms": statistics.median(latencies),
            "add_to_cart_p99_ms": pct(latencies, 0.99),
            **samples,
            "rss_mb_per_1000_carts_over_idle": (
                samples[f"rss_mb_{n}_carts_settled"] - samples["idle_worker_rss_mb"]
            )
            / (n / 1000),
        }
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=10)
        if env is not None:
            await env.shutdown()
        _drop_db(name)


def run(clients: int = CLIENTS, checkouts: int = CHECKOUTS, open_carts: int = CARTS) -> dict:
    from backroom.db.models import load_models

    load_models()
    red = asyncio.run(_redemption(clients, checkouts))
    print(f"redemption: {red}", file=sys.stderr, flush=True)  # kept even if the carts part fails
    cart = asyncio.run(_carts(open_carts))
    return {
        "summary": (
            f"{clients} checkouts at once on one hot code: {red['with_code_orders_per_s']:.0f} orders/s "
            f"({red['ratio_throughput_code_vs_plain']:.2f}x of no code), p99 {red['with_code_p99_ms']:.0f} ms "
            f"({red['ratio_p99_code_vs_plain']:.2f}x); worker RSS {cart[f'rss_mb_{open_carts}_carts_settled']:.0f} MB "
            f"with {open_carts:,} open carts with armed reminder timers"
        ),
        **red,
        **cart,
        "database": "PostgreSQL",
        "temporal": "dev server (temporal CLI), worker in its own process",
    }


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        try:
            asyncio.run(_worker_main(*sys.argv[2:]))
        finally:
            os._exit(0)
    with tempfile.TemporaryDirectory():
        print(run())
    sys.stdout.flush()
    os._exit(0)
