"""The orders benchmark's load generator, in a process of its own (not the API's event loop, not
the coordinator's): `python -m bench._load SPEC_JSON` prints one JSON result line.

mode "orders": each client, one order after another: open a cart, add the order's products (a
mix from several branches), check out (timed). It does not wait for shipment: the coordinator
reads shipment times from the database afterwards, so nothing polls during the run.
mode "bare": the same shape on bare Temporal: start the cart-like workflow, its Updates and
signals, then the last Update and the order-like workflow's start (timed, as checkout), then
the order-like workflow's Updates and signals; completion is awaited on the workflow results
(long polls, no polling loop). Neither waits for one order to finish before the next."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid


async def _orders(spec: dict) -> dict:
    import httpx

    api = httpx.AsyncClient(
        base_url=spec["base_url"],
        headers={"Authorization": f"Bearer {spec['token']}"},
        timeout=120,
        limits=httpx.Limits(max_connections=spec["clients"] * 2),
    )
    body = spec["checkout"]
    todo = iter(spec["baskets"])
    checkout_s: list[float] = []
    order_ids: list[int] = []
    retries = [0]

    async def post(url: str, payload: dict):
        """As a client that follows the API's contract: a 503 (Temporal or the database busy)
        is retried after its Retry-After with the same Idempotency-Key; counted."""
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        while True:
            r = await api.post(url, json=payload, headers=headers)
            if r.status_code != 503:
                r.raise_for_status()
                return r
            retries[0] += 1
            await asyncio.sleep(float(r.headers.get("Retry-After", "1")))

    async def customer() -> None:
        for basket in todo:
            cart = await post(
                "/api/v1/carts", {"branch_id": spec["branch_id"], "customer_id": spec["customer_id"]}
            )
            cart_id = cart.json()["id"]
            for product_id in basket:
                await post(f"/api/v1/carts/{cart_id}/items", {"product_id": product_id, "qty": 1})
            t0 = time.perf_counter()
            r = await post(f"/api/v1/carts/{cart_id}/checkout", body)
            checkout_s.append(time.perf_counter() - t0)
            order_ids.append(r.json()["id"])

    started = time.time()
    try:
        await asyncio.gather(*[customer() for _ in range(spec["clients"])])
    finally:
        await api.aclose()
    return {
        "started": started,
        "placed": time.time(),
        "checkout_s": checkout_s,
        "order_ids": order_ids,
        "retries_503": retries[0],
    }


async def _bare(spec: dict) -> dict:
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter

    from bench._bare import BareShapeWorkflow, Shape

    client = await Client.connect(spec["address"], data_converter=pydantic_data_converter)
    cart, order = Shape(**spec["cart"]), Shape(**spec["order"])
    queue, run = spec["queue"], spec["run"]
    todo = iter(range(spec["n"]))
    checkout_s: list[float] = []
    finished: list[float] = []

    async def customer() -> None:
        for i in todo:
            h1 = await client.start_workflow(
                BareShapeWorkflow.run, cart, id=f"bare-cart-{run}-{i}", task_queue=queue
            )
            for _ in range(max(cart.updates - 1, 0)):
                await h1.execute_update(BareShapeWorkflow.poke)
            for _ in range(cart.signals):
                await h1.signal(BareShapeWorkflow.nudge)
            t0 = time.perf_counter()
            if cart.updates:
                await h1.execute_update(BareShapeWorkflow.poke)
            h2 = await client.start_workflow(
                BareShapeWorkflow.run, order, id=f"bare-order-{run}-{i}", task_queue=queue
            )
            checkout_s.append(time.perf_counter() - t0)
            for _ in range(order.updates):
                await h2.execute_update(BareShapeWorkflow.poke)
            for _ in range(order.signals):
                await h2.signal(BareShapeWorkflow.nudge)
            waiting.append(asyncio.ensure_future(done(h2)))

    async def done(handle) -> None:
        await handle.result()
        finished.append(time.time())

    waiting: list[asyncio.Future] = []
    started = time.time()
    await asyncio.gather(*[customer() for _ in range(spec["clients"])])
    placed = time.time()
    await asyncio.gather(*waiting)
    return {"started": started, "placed": placed, "done": max(finished), "checkout_s": checkout_s}


def main() -> None:
    spec = json.loads(sys.argv[1])
    result = asyncio.run(_orders(spec) if spec["mode"] == "orders" else _bare(spec))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    import os

    main()
    sys.stdout.flush()
    os._exit(0)  # temporalio may abort at interpreter exit (sdk-python#300)
