"""`make chaos`: orders placed while the stack's pieces die, then checked against the outside world.

Starts each piece as its own process on free ports: the Temporal dev server (file-backed),
localstripe, the fake Shippo API (in this process), the worker and the API, with
ORDER_AUTO_FULFIL on. Clients place N orders concurrently through the API (cart, add with an
Idempotency-Key, checkout with an Idempotency-Key; a failed call is retried with the same key).
While they do, the harness kills -9 the worker, then the API, then restarts the Temporal dev
server, starting each again. When every order has settled it checks:

- every order reaches a terminal state (shipped or beyond, cancelled, payment failed);
- exactly one capture per shipped order and none for the others, asked of localstripe;
- one label per parcel, asked of the fake Shippo, and the app serves the worker's PDF;
- stock and stock ledger exact;
- `backroom audit verify` passes;
- nothing a client was told succeeded is missing or doubled.

    python -m harness.chaos [--orders N] [--db sqlite|postgres] [--clients C]

CHAOS_ORDERS (30), CHAOS_DB (sqlite), CHAOS_CLIENTS (8), CHAOS_PG (the server for
CHAOS_DB=postgres: postgresql://postgres@127.0.0.1:5432). Exit code 0 only when every check passed.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from backroom.devstack import http_ok, port_open, temporal_binary
from backroom.settings import normalize_db_url
from backroom.temporal import dev_server_args
from harness.stack import Piece, free_port

# Where an order stops moving without staff or carrier: the run waits for these.
TERMINAL = frozenset(
    {"shipped", "delivered", "completed", "cancelled", "payment_failed", "refunded", "partially_refunded"}
)
CAPTURED = frozenset({"shipped", "delivered", "completed", "refunded", "partially_refunded"})
SHIPPED_PARCEL = frozenset({"shipped", "delivered"})
RETRY_STATUSES = frozenset({502, 503, 504})
CHECKOUT = {
    "email": "chaos@example.com",
    "ship_name": "Chaos Buyer",
    "ship_line1": "1 Road",
    "ship_city": "Town",
    "ship_postcode": "10001",
    "ship_country": "US",
    "payment_method": "pm_card_visa",
}
STRIPE_KEY = "sk_test_chaos"
SHIPPO_KEY = "shippo_test_key"


# ---- what was told and what is there ------------------------------------------------------


@dataclass
class Told:
    """What the clients were told succeeded (a 2xx answer)."""

    carts: set[int] = field(default_factory=set)
    added: dict[int, int] = field(default_factory=dict)  # cart id -> units the client added once
    orders: dict[int, tuple[int, int]] = field(default_factory=dict)  # order id -> (cart id, total)
    gave_up: list[str] = field(default_factory=list)  # calls never answered 2xx
    server_errors: list[str] = field(default_factory=list)  # 5xx other than 502/503/504
    retries: int = 0


@dataclass
class Facts:
    """The end state, from the database and from the outside services."""

    initial_stock: int
    on_hand: int
    reserved: int
    ledger_on_hand: int  # sum of the stock ledger's deltas
    ledger_reserved: int
    held_units: int  # units in reservations still held
    carts: set[int]
    cart_lines: dict[int, int]  # cart id -> units
    orders: dict[int, dict]  # id -> {status, cart_id, units, total_minor}
    parcels: dict[int, dict]  # id -> {order_id, status, label_id}
    captures: dict[int, list[int]]  # order id -> captured amounts (localstripe)
    open_holds: dict[int, int]  # order id -> authorizations neither captured nor cancelled
    labels: dict[int, list[str]]  # parcel id -> label purchases (fake Shippo)
    served_labels: dict[int, bool]  # parcel id -> the app served its PDF
    audit_ok: bool
    audit_output: str = ""


def strangers(outside: dict[int, list], ours: dict[int, dict], what: str) -> list[str]:
    """What the outside service did for records the database does not have."""
    return [f"{len(v)} {what} {i}, which is not in the database" for i, v in outside.items() if i not in ours]


def check_terminal(told: Told, facts: Facts) -> list[str]:
    problems = [f"order {i} is {o['status']}" for i, o in facts.orders.items() if o["status"] not in TERMINAL]
    return problems + [f"a client gave up: {g}" for g in told.gave_up]


def check_captures(told: Told, facts: Facts) -> list[str]:
    problems = []
    for order_id, o in facts.orders.items():
        got = facts.captures.get(order_id, [])
        want = 1 if o["status"] in CAPTURED else 0
        if len(got) != want:
            problems.append(
                f"order {order_id} ({o['status']}) has {len(got)} captures at the gateway, not {want}"
            )
        elif got and got[0] != o["total_minor"]:
            problems.append(f"order {order_id} captured {got[0]}, its total is {o['total_minor']}")
        if o["status"] in TERMINAL and facts.open_holds.get(order_id):
            problems.append(f"order {order_id} left {facts.open_holds[order_id]} card hold(s) open")
    return problems + strangers(facts.captures, facts.orders, "capture(s) for order")


def check_labels(told: Told, facts: Facts) -> list[str]:
    problems = []
    for parcel_id, p in facts.parcels.items():
        bought = facts.labels.get(parcel_id, [])
        if len(bought) > 1:
            problems.append(f"parcel {parcel_id} has {len(bought)} labels at the carrier")
        if p["status"] in SHIPPED_PARCEL:
            if len(bought) != 1:
                problems.append(f"shipped parcel {parcel_id} has {len(bought)} labels at the carrier, not 1")
            elif p["label_id"] != bought[0]:
                problems.append(
                    f"parcel {parcel_id} records label {p['label_id']}, the carrier sold {bought[0]}"
                )
            if not facts.served_labels.get(parcel_id):
                problems.append(f"the app does not serve the label of parcel {parcel_id}")
    return problems + strangers(facts.labels, facts.parcels, "label(s) for parcel")


def check_stock(told: Told, facts: Facts) -> list[str]:
    shipped = sum(o["units"] for o in facts.orders.values() if o["status"] in CAPTURED)
    pending = sum(o["units"] for o in facts.orders.values() if o["status"] not in TERMINAL)
    problems = []
    if facts.on_hand != facts.ledger_on_hand:
        problems.append(f"on hand {facts.on_hand} but the ledger sums to {facts.ledger_on_hand}")
    if facts.reserved != facts.ledger_reserved:
        problems.append(f"reserved {facts.reserved} but the ledger sums to {facts.ledger_reserved}")
    if facts.on_hand != facts.initial_stock - shipped:
        problems.append(f"on hand {facts.on_hand}, expected {facts.initial_stock} - {shipped} shipped")
    if facts.reserved != facts.held_units or facts.reserved != pending:
        problems.append(
            f"reserved {facts.reserved}, held reservations {facts.held_units}, unsettled orders {pending}"
        )
    return problems


def check_audit(told: Told, facts: Facts) -> list[str]:
    return [] if facts.audit_ok else [f"audit verify failed: {facts.audit_output.strip()}"]


def check_told(told: Told, facts: Facts) -> list[str]:
    """No write a client was told succeeded is missing, and none happened twice."""
    problems = [f"cart {c} was created for a client but is missing" for c in told.carts - facts.carts]
    for order_id, (cart_id, total) in told.orders.items():
        o = facts.orders.get(order_id)
        if o is None:
            problems.append(f"order {order_id} was confirmed to a client but is missing")
        elif o["cart_id"] != cart_id or o["total_minor"] != total:
            problems.append(
                f"order {order_id} is not what its client was told (cart {cart_id}, total {total})"
            )
    by_cart = collections.Counter(o["cart_id"] for o in facts.orders.values())
    problems += [f"cart {c} became {n} orders" for c, n in by_cart.items() if n > 1]
    ordered = {o["cart_id"]: o["units"] for o in facts.orders.values()}
    for cart_id, units in told.added.items():
        have = ordered.get(cart_id, facts.cart_lines.get(cart_id))
        if have is None:
            problems.append(f"cart {cart_id}: the {units} unit(s) its client was told were added are missing")
        elif have != units:
            problems.append(f"cart {cart_id}: its client added {units} unit(s) once, the order has {have}")
    problems += [f"server error: {e}" for e in told.server_errors]
    return problems


CHECKS = {
    "orders terminal": check_terminal,
    "one capture per order": check_captures,
    "one label per parcel": check_labels,
    "stock and ledger exact": check_stock,
    "audit chain intact": check_audit,
    "no told write missing or doubled": check_told,
}


def run_checks(told: Told, facts: Facts) -> dict[str, list[str]]:
    return {name: check(told, facts) for name, check in CHECKS.items()}


def lost_and_doubled(told: Told, facts: Facts) -> tuple[int, int]:
    lost = sum(1 for o in told.orders if o not in facts.orders)
    lost += sum(1 for c in told.carts if c not in facts.carts)
    doubled = sum(1 for c in facts.captures.values() if len(c) > 1)
    doubled += sum(1 for b in facts.labels.values() if len(b) > 1)
    ordered = {o["cart_id"]: o["units"] for o in facts.orders.values()}
    doubled += sum(1 for c, u in told.added.items() if ordered.get(c, facts.cart_lines.get(c, u)) > u)
    doubled += sum(n - 1 for n in collections.Counter(o["cart_id"] for o in facts.orders.values()).values())
    return lost, doubled


# ---- the stack, piece by piece -----------------------------------------------------------


class FakeShippoThread:
    """tests/fakes/shippo_server.FakeShippo on its own event loop, so it outlives every kill."""

    def __init__(self) -> None:
        from tests.fakes.shippo_server import FakeShippo

        self.fake = FakeShippo(api_key=SHIPPO_KEY)
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self.fake.__aenter__(), self.loop).result(30)

    def labels(self) -> dict[int, list[str]]:
        """Parcel id -> transaction ids bought for it (the carrier's own record, by metadata)."""
        bought: dict[int, list[str]] = collections.defaultdict(list)
        for t in list(self.fake.purchases):
            if m := re.search(r"parcel-(\d+):label", t.get("metadata") or ""):
                bought[int(m.group(1))].append(t["object_id"])
        return dict(bought)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.__aexit__(None, None, None), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)


class Stack:
    def __init__(self, root: Path, db_url: str) -> None:
        self.root, self.db_url = root, db_url
        self.var = root / "var"
        self.log_dir = root / "log"
        self.var.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(exist_ok=True)
        self.temporal_port, self.ui_port = free_port(), free_port()
        self.stripe_port, self.api_port = free_port(), free_port()
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.stripe_url = f"http://127.0.0.1:{self.stripe_port}"
        self.shippo = FakeShippoThread()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("STRIPE_", "SHIPPO_", "TEMPORAL_", "ORDER_", "BACKROOM_", "DATABASE_"))
        }
        env.update(
            PYTHONUNBUFFERED="1",
            BACKROOM_VAR=str(self.var),
            DATABASE_URL=db_url,
            TEMPORAL_ADDRESS=f"127.0.0.1:{self.temporal_port}",
            SECRET_KEY="chaos-" + uuid.uuid4().hex,
            BASE_URL=self.api_url,
            COOKIE_SECURE="false",
            STRIPE_API_KEY=STRIPE_KEY,
            STRIPE_API_BASE=self.stripe_url,
            SHIPPO_API_KEY=SHIPPO_KEY,
            SHIPPO_BASE_URL=self.shippo.fake.url,
            ORDER_AUTO_FULFIL="true",
            ORDER_REVIEW_OVER_MINOR="0",
        )
        self.env = env
        py = sys.executable
        self.temporal = Piece(
            "temporal",
            [
                temporal_binary(),
                "server",
                "start-dev",
                "--db-filename",
                str(root / "temporal.db"),
                "--ip",
                "127.0.0.1",
                "--port",
                str(self.temporal_port),
                "--ui-port",
                str(self.ui_port),
                *dev_server_args(),
            ],
            env,
            self.log_dir,
            lambda: port_open(self.temporal_port) and http_ok(f"http://127.0.0.1:{self.ui_port}/"),
        )
        self.stripe = Piece(
            "localstripe",
            [py, "-m", "backroom.payments.localstripe_server", "--port", str(self.stripe_port)],
            env,
            self.log_dir,
            lambda: port_open(self.stripe_port),
        )
        self.worker = Piece(
            "worker",
            [py, "-m", "backroom.cli", "worker"],
            env,
            self.log_dir,
            lambda: self.worker.log_text().count("worker polling") > self.worker.kills,
        )
        self.api = Piece(
            "api",
            [py, "-m", "backroom.cli", "api", "--host", "127.0.0.1", "--port", str(self.api_port)],
            env,
            self.log_dir,
            lambda: http_ok(f"{self.api_url}/healthz"),
        )
        self.pieces = [self.temporal, self.stripe, self.worker, self.api]

    def start(self) -> None:
        for piece in self.pieces:
            piece.start()

    def stop(self) -> None:
        for piece in reversed(self.pieces):
            piece.stop()
        self.shippo.close()


# ---- setup, clients, faults --------------------------------------------------------------


async def prepare(db_url: str, stock: int) -> dict:
    """Migrate, then a branch, a product with stock, a customer and an admin token."""
    from backroom.audit.context import Actor
    from backroom.auth import service as auth
    from backroom.branches.service import ensure_branch
    from backroom.catalog import service as catalog
    from backroom.catalog.schemas import ProductCreate
    from backroom.customers.schemas import CustomerCreate
    from backroom.customers.service import create_customer
    from backroom.db.migrate import upgrade_async
    from backroom.db.session import make_engine, make_sessionmaker

    await upgrade_async(db_url)
    engine = make_engine(db_url)
    actor = Actor.system("chaos")
    try:
        async with make_sessionmaker(engine).begin() as s:
            branch = await ensure_branch(s, actor=actor, code="CHAOS", name="Chaos")
            user = await auth.create_user(
                s,
                actor=actor,
                username="chaos",
                full_name="Chaos",
                password="chaos-harness",
                grants=[("admin", None)],
            )
            product = await catalog.create_product(
                s,
                actor=actor,
                data=ProductCreate(
                    sku="CHAOS-1",
                    name="Chaos widget",
                    category="chaos",
                    price_minor=2500,
                    tax_rate_bp=800,
                    weight_g=400,
                ),
            )
            await catalog.adjust_stock(
                s, actor=actor, product_id=product.id, branch_id=branch.id, delta=stock, reason="chaos"
            )
            buyer = await create_customer(
                s, actor=actor, data=CustomerCreate(name="Chaos buyer", home_branch_id=branch.id)
            )
            token, _ = await auth.create_token(s, actor=actor, user_id=user.id, name="chaos")
        return {"branch_id": branch.id, "product_id": product.id, "customer_id": buyer.id, "token": token}
    finally:
        await engine.dispose()


class Clients:
    def __init__(self, api: httpx.AsyncClient, seed: dict, told: Told, patience: float) -> None:
        self.api, self.seed, self.told, self.patience = api, seed, told, patience
        self.checkouts = 0  # answered checkouts, which the faults follow
        self.done = False
        self.changed = asyncio.Condition()

    async def _progress(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def reached(self, count: int) -> None:
        """Until `count` checkouts were answered (or the clients are done)."""
        async with self.changed:
            await self.changed.wait_for(lambda: self.checkouts >= count or self.done)

    async def call(
        self, what: str, method: str, url: str, *, json=None, key: str | None = None
    ) -> dict | None:
        """Send until a 2xx (returned) or a refusal (None); transport errors and 502-504 retry."""
        headers = {"Idempotency-Key": key} if key else {}
        deadline = time.monotonic() + self.patience
        while time.monotonic() < deadline:
            try:
                r = await self.api.request(method, url, json=json, headers=headers)
            except httpx.TransportError:
                self.told.retries += 1
                await asyncio.sleep(0.5)
                continue
            if r.is_success:
                return r.json()
            if r.status_code >= 500 and r.status_code not in RETRY_STATUSES:
                self.told.server_errors.append(f"{method} {url}: {r.status_code} {r.text[:200]}")
            if r.status_code < 500:
                self.told.gave_up.append(f"{what}: refused {r.status_code} {r.text[:200]}")
                return None
            self.told.retries += 1
            await asyncio.sleep(0.5)
        self.told.gave_up.append(f"{what}: no answer in {self.patience:.0f} s")
        return None

    async def order(self, i: int) -> None:
        units = 1 + i % 3
        cart = await self.call(
            f"order {i} cart",
            "POST",
            "/api/v1/carts",
            json={"branch_id": self.seed["branch_id"], "customer_id": self.seed["customer_id"]},
        )
        if cart is None:
            return
        cart_id = cart["id"]
        self.told.carts.add(cart_id)
        added = await self.call(
            f"order {i} add",
            "POST",
            f"/api/v1/carts/{cart_id}/items",
            json={"product_id": self.seed["product_id"], "qty": units},
            key=uuid.uuid4().hex,
        )
        if added is None:
            return
        self.told.added[cart_id] = units
        placed = await self.call(
            f"order {i} checkout",
            "POST",
            f"/api/v1/carts/{cart_id}/checkout",
            json=CHECKOUT,
            key=uuid.uuid4().hex,
        )
        if placed is not None:
            self.told.orders[placed["id"]] = (cart_id, placed["total_minor"])
            self.checkouts += 1
            await self._progress()

    async def run(self, n: int, concurrency: int) -> None:
        todo = iter(range(n))

        async def client() -> None:
            for i in todo:
                await self.order(i)

        await asyncio.gather(*(client() for _ in range(concurrency)))
        self.done = True
        await self._progress()


async def faults(stack: Stack, clients: Clients, n: int, log) -> list[str]:
    """kill -9 the worker at a quarter of the checkouts, the API at half, restart Temporal at
    three quarters; each comes back before the next fault."""
    done: list[str] = []

    for share, piece, how in (
        (0.25, stack.worker, "kill -9"),
        (0.5, stack.api, "kill -9"),
        (0.75, stack.temporal, "restart"),
    ):
        await clients.reached(max(1, int(n * share)))
        moving = sum(1 for s in (await order_states(stack.db_url)).values() if s not in TERMINAL)
        log(f"{how} {piece.name} after {clients.checkouts} checkouts, {moving} orders in flight")
        if how == "kill -9":
            piece.kill()
            await asyncio.sleep(1)
        else:
            await asyncio.to_thread(piece.stop)
            await asyncio.sleep(3)  # clients meet a Temporal that is down
        await asyncio.to_thread(piece.start)
        log(f"{piece.name} is back")
        done.append(f"{how} {piece.name}")
    return done


# ---- the end state -----------------------------------------------------------------------


async def order_states(db_url: str) -> dict[int, str]:
    from sqlalchemy import select

    from backroom.db.session import make_engine
    from backroom.orders.models import Order

    engine = make_engine(db_url)
    try:
        async with engine.connect() as c:
            return dict((await c.execute(select(Order.id, Order.status))).all())
    finally:
        await engine.dispose()


async def settle(db_url: str, seconds: float, log) -> None:
    deadline = time.monotonic() + seconds
    while True:
        states = await order_states(db_url)
        moving = [i for i, s in states.items() if s not in TERMINAL]
        if not moving or time.monotonic() > deadline:
            log(
                f"{len(states) - len(moving)} of {len(states)} orders settled in {seconds - deadline + time.monotonic():.0f} s"
            )
            return
        await asyncio.sleep(2)


async def gather_facts(stack: Stack, seed: dict, initial_stock: int, api: httpx.AsyncClient) -> Facts:
    from sqlalchemy import func, select

    from backroom.carts.models import Cart, CartLine
    from backroom.catalog.models import ReservationStatus, StockLevel, StockMovement, StockReservation
    from backroom.db.models import load_models
    from backroom.db.session import make_engine
    from backroom.orders.models import Order, OrderLine, Parcel

    load_models()
    product_id = seed["product_id"]
    engine = make_engine(stack.db_url)
    try:
        async with engine.connect() as c:
            level = (
                await c.execute(
                    select(StockLevel.on_hand, StockLevel.reserved).where(StockLevel.product_id == product_id)
                )
            ).one()
            ledger = (
                await c.execute(
                    select(
                        func.coalesce(func.sum(StockMovement.on_hand_delta), 0),
                        func.coalesce(func.sum(StockMovement.reserved_delta), 0),
                    ).where(StockMovement.product_id == product_id)
                )
            ).one()
            held = await c.scalar(
                select(func.coalesce(func.sum(StockReservation.qty), 0)).where(
                    StockReservation.product_id == product_id,
                    StockReservation.status == ReservationStatus.HELD,
                )
            )
            carts = set((await c.scalars(select(Cart.id))).all())
            cart_lines = dict(
                (
                    await c.execute(
                        select(CartLine.cart_id, func.sum(CartLine.qty)).group_by(CartLine.cart_id)
                    )
                ).all()
            )
            units = dict(
                (
                    await c.execute(
                        select(OrderLine.order_id, func.sum(OrderLine.qty)).group_by(OrderLine.order_id)
                    )
                ).all()
            )
            orders = {
                i: {"status": s, "cart_id": cart, "units": units.get(i, 0), "total_minor": total}
                for i, s, cart, total in (
                    await c.execute(select(Order.id, Order.status, Order.cart_id, Order.total_minor))
                ).all()
            }
            parcels = {
                i: {"order_id": o, "status": s, "label_id": label}
                for i, o, s, label in (
                    await c.execute(select(Parcel.id, Parcel.order_id, Parcel.status, Parcel.label_id))
                ).all()
            }
    finally:
        await engine.dispose()
    captures, holds = await stripe_captures(stack.stripe_url)
    served = {}
    for parcel_id, p in parcels.items():
        if p["status"] in SHIPPED_PARCEL:
            r = await api.get(f"/api/v1/orders/{p['order_id']}/parcels/{parcel_id}/label.pdf")
            served[parcel_id] = r.status_code == 200 and r.content.startswith(b"%PDF")
    audit = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "backroom.cli",
        "audit",
        "verify",
        env=stack.env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    audit_output = (await audit.communicate())[0].decode(errors="replace")
    return Facts(
        initial_stock=initial_stock,
        on_hand=level.on_hand,
        reserved=level.reserved,
        ledger_on_hand=int(ledger[0]),
        ledger_reserved=int(ledger[1]),
        held_units=int(held),
        carts=carts,
        cart_lines={k: int(v) for k, v in cart_lines.items()},
        orders={k: {**v, "units": int(v["units"])} for k, v in orders.items()},
        parcels=parcels,
        captures=captures,
        open_holds=holds,
        labels=stack.shippo.labels(),
        served_labels=served,
        audit_ok=audit.returncode == 0,
        audit_output=audit_output,
    )


async def stripe_captures(base: str) -> tuple[dict[int, list[int]], dict[int, int]]:
    """Order id -> captured amounts, and -> holds left open, from localstripe's PaymentIntents
    (tagged with the `order-{id}:...` idempotency key in their metadata)."""
    captures: dict[int, list[int]] = collections.defaultdict(list)
    holds: dict[int, int] = collections.Counter()
    after = None
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {STRIPE_KEY}"}, timeout=60
    ) as s:
        while True:
            params = {"limit": 100, **({"starting_after": after} if after else {})}
            page = (await s.get("/v1/payment_intents", params=params)).raise_for_status().json()
            for pi in page["data"]:
                m = re.search(r"order-(\d+):", (pi.get("metadata") or {}).get("idempotency_key", ""))
                if not m:
                    continue
                charge = pi.get("latest_charge") or {}
                if isinstance(charge, dict) and charge.get("captured") and pi["status"] == "succeeded":
                    captures[int(m.group(1))].append(pi.get("amount_received") or pi["amount"])
                elif pi["status"] == "requires_capture":
                    holds[int(m.group(1))] += 1
            if not page.get("has_more") or not page["data"]:
                return dict(captures), dict(holds)
            after = page["data"][-1]["id"]


# ---- main --------------------------------------------------------------------------------


def postgres_database(server: str) -> tuple[str, Callable[[], None]]:
    """A fresh database on the PostgreSQL server; returns its URL and a function that drops it."""
    import psycopg

    name = f"chaos_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{server}/{name}", drop


async def chaos(stack: Stack, n: int, concurrency: int, log) -> tuple[Told, Facts, list[str]]:
    initial_stock = 4 * n
    seed = await prepare(stack.db_url, initial_stock)
    await asyncio.to_thread(stack.start)
    log(f"stack up: api {stack.api_url}, temporal :{stack.temporal_port}, logs {stack.log_dir}")
    told = Told()
    patience = float(os.environ.get("CHAOS_PATIENCE", "300"))
    async with httpx.AsyncClient(
        base_url=stack.api_url, headers={"Authorization": f"Bearer {seed['token']}"}, timeout=60
    ) as api:
        clients = Clients(api, seed, told, patience)
        fault_task = asyncio.create_task(faults(stack, clients, n, log))
        started = time.monotonic()
        await clients.run(n, concurrency)
        kills = await fault_task
        log(
            f"{len(told.orders)} orders placed in {time.monotonic() - started:.0f} s ({told.retries} retries)"
        )
        await settle(stack.db_url, float(os.environ.get("CHAOS_SETTLE_SECONDS", 300 + 3 * n)), log)
        facts = await gather_facts(stack, seed, initial_stock, api)
    return told, facts, kills


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="harness.chaos", description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=int(os.environ.get("CHAOS_ORDERS", "30")))
    ap.add_argument("--db", choices=("sqlite", "postgres"), default=os.environ.get("CHAOS_DB", "sqlite"))
    ap.add_argument("--clients", type=int, default=int(os.environ.get("CHAOS_CLIENTS", "8")))
    args = ap.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="backroom-chaos-"))
    log = lambda msg: print(f"chaos | {msg}", flush=True)  # noqa: E731
    drop = None
    if args.db == "postgres":
        db_url, drop = postgres_database(os.environ.get("CHAOS_PG", "postgresql://postgres@127.0.0.1:5432"))
    else:
        db_url = f"sqlite:///{root / 'backroom.db'}"
    stack = Stack(root, normalize_db_url(db_url))
    started = time.monotonic()
    try:
        told, facts, kills = asyncio.run(chaos(stack, args.orders, args.clients, log))
    finally:
        stack.stop()
    results = run_checks(told, facts)
    lost, doubled = lost_and_doubled(told, facts)
    passed = sum(1 for p in results.values() if not p)
    log(
        f"outside: {sum(map(len, facts.captures.values()))} captures at localstripe, "
        f"{sum(map(len, facts.labels.values()))} labels at Shippo, "
        f"{sum(facts.served_labels.values())} label PDFs served by the app; "
        f"statuses {dict(collections.Counter(o['status'] for o in facts.orders.values()))}"
    )
    from bench.__main__ import machine

    log(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {', '.join(f'{k} {v}' for k, v in machine().items())}")
    log(
        f"{args.db}: {args.orders} orders asked, {len(told.orders)} confirmed, {len(facts.orders)} in the database; "
        f"kills: {', '.join(kills) or 'none'}; lost {lost}; doubled {doubled}; "
        f"checks passed {passed}/{len(results)}; {time.monotonic() - started:.0f} s"
    )
    for name, problems in results.items():
        log(f"  {'ok  ' if not problems else 'FAIL'} {name}")
        for p in problems[:20]:
            log(f"       {p}")
    ok = passed == len(results) and len(kills) == 3
    if ok:
        shutil.rmtree(root, ignore_errors=True)
        if drop:
            drop()
    else:
        log(f"logs and data kept in {root}")
    return 0 if ok else 1


if __name__ == "__main__":
    rc = main()
    sys.stdout.flush()
    os._exit(rc)  # temporalio may abort at interpreter exit (sdk-python#300)
