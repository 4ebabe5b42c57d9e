"""Plain test-data helpers and clients for the app (no fixtures hidden here)."""

from __future__ import annotations

import asyncio
import re
import socket
import uuid
from contextlib import asynccontextmanager

import httpx
from temporalio.service import RPCError

from api.app import create_app
from backroom.audit.context import Actor
from backroom.audit.service import record, snapshot
from backroom.auth import service as auth
from backroom.auth.models import User
from backroom.branches.models import Branch
from backroom.branches.service import ensure_branch
from backroom.catalog import service as catalog
from backroom.catalog.schemas import ProductCreate
from backroom.customers.models import Customer
from backroom.orders import service as orders
from backroom.orders.schemas import CheckoutRequest
from backroom.payments.stripe_gateway import StripeGateway
from backroom.shipping.local_carrier import LocalCarrier
from worker.registry import Deps, build_worker

TEST_ACTOR = Actor.system("test")
PASSWORD = "correct-horse-battery"


def free_port() -> int:
    """A free TCP port on loopback, for a server a test or benchmark starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def uniq(prefix: str = "x") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


async def create_branch(session, **kw) -> Branch:
    code = kw.pop("code", uniq("B").upper()[:12])
    return await ensure_branch(
        session, actor=TEST_ACTOR, code=code, name=kw.pop("name", f"Branch {code}"), **kw
    )


async def create_user(
    session, *, grants: list[tuple[str, int | None]], username: str | None = None, **kw
) -> User:
    return await auth.create_user(
        session,
        actor=TEST_ACTOR,
        username=username or uniq("u"),
        full_name=kw.pop("full_name", "Test User"),
        password=PASSWORD,
        grants=grants,
        **kw,
    )


def make_app(db, settings, temporal_client=None):
    return create_app(
        settings,
        sessionmaker=db.sessionmaker,
        read_sessionmaker=db.read_sessionmaker,
        temporal_client=temporal_client,
    )


def client_for(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver")


async def token_client(app, db, user: User) -> httpx.AsyncClient:
    """An API client authenticated with a fresh bearer token for `user`."""
    async with db.sessionmaker.begin() as session:
        secret, _ = await auth.create_token(session, actor=TEST_ACTOR, user_id=user.id, name="test")
    client = client_for(app)
    client.headers["Authorization"] = f"Bearer {secret}"
    return client


async def browser_client(app, username: str, password: str = PASSWORD) -> httpx.AsyncClient:
    """A UI client signed in through the sign-in form; `client.csrf` holds the form token."""
    client = client_for(app)
    resp = await client.post("/login", data={"username": username, "password": password, "next": "/"})
    assert resp.status_code == 303, resp.text
    page = await client.get("/")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    client.csrf = match.group(1) if match else None
    return client


# --- customer operations: customers, staff per role, polling, workers ---
async def create_customer(session, *, branch, **kw) -> Customer:
    c = Customer(
        name=kw.pop("name", f"Customer {uniq()}"),
        email=kw.pop("email", f"{uniq('c')}@example.com"),
        phone=kw.pop("phone", None),
        home_branch_id=branch.id,
        currency=kw.pop("currency", "USD"),
        credit_limit_minor=kw.pop("credit_limit_minor", 0),
        kind=kw.pop("kind", "person"),
        tags=kw.pop("tags", []),
        status="active",
        **kw,
    )
    session.add(c)
    await session.flush()
    await record(
        session,
        actor=TEST_ACTOR,
        action="customer.create",
        entity_type="customer",
        entity_id=c.id,
        branch_id=branch.id,
        after=snapshot(c),
    )
    return c


async def staff(db, roles=("agent", "supervisor", "manager", "finance", "clerk")) -> dict:
    """A fresh branch with one user per role in it: {"branch": Branch, role: User}."""
    async with db.sessionmaker.begin() as s:
        branch = await create_branch(s)
        out = {"branch": branch}
        for role in roles:
            out[role] = await create_user(
                s,
                grants=[(role, branch.id)],
                email=f"{uniq(role)}@staff.test",
                full_name=f"{role.title()} {uniq()}",
            )
    return out


async def eventually(check, timeout: float = 10.0, interval: float = 0.05):
    """Poll an async check until it returns something truthy (activities run in real time)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)


@asynccontextmanager
async def running_worker(env, settings, db, task_queue):
    """A worker for the test; workflows appended to the yielded list are terminated at the end,
    because the time-skipping server stalls on timers of workflows nobody polls any more."""
    handles: list = []
    async with build_worker(
        env.client, Deps(settings=settings, sessionmaker=db.sessionmaker), task_queue=task_queue
    ):
        try:
            yield handles
        finally:
            for h in handles:
                try:
                    await h.terminate("test over")
                except RPCError:
                    pass


# --- commerce: a small catalog, orders, gateways that crash once ---
def adapters(settings) -> dict:
    return {
        "payments": StripeGateway(
            "sk_test_backroom", api_base=settings.stripe_api_base, max_network_retries=0
        ),
        "carrier": LocalCarrier(),
    }


async def make_shop(session, *, stock=((5, 5),), prices=(1999,), weight_g=500):
    """Two branches and one product per price with (on hand in branch A, in branch B)."""
    a = await create_branch(session)
    b = await create_branch(session)
    products = []
    category = uniq("cat")  # the storefront can show just this test's products
    for i, price in enumerate(prices):
        p = await catalog.create_product(
            session,
            actor=TEST_ACTOR,
            data=ProductCreate(
                sku=uniq("SKU-"),
                name=f"Thing {i}",
                category=category,
                price_minor=price,
                tax_rate_bp=800,
                weight_g=weight_g,
            ),
        )
        qa, qb = stock[i] if i < len(stock) else stock[-1]
        if qa:
            await catalog.adjust_stock(
                session, actor=TEST_ACTOR, product_id=p.id, branch_id=a.id, delta=qa, reason="test"
            )
        if qb:
            await catalog.adjust_stock(
                session, actor=TEST_ACTOR, product_id=p.id, branch_id=b.id, delta=qb, reason="test"
            )
        products.append(p)
    return a, b, products


def checkout_body(method="pm_card_visa", **kw) -> CheckoutRequest:
    data = {
        "email": "ann@example.com",
        "ship_name": "Ann Buyer",
        "ship_line1": "5 Elm St",
        "ship_city": "Springfield",
        "ship_postcode": "12345",
        "ship_country": "US",
        "payment_method": method,
    }
    data.update(kw)
    return CheckoutRequest(**data)


async def place(db, branch, items, *, method="pm_card_visa", **kw):
    body = checkout_body(method, **kw)
    key = uniq("idem-")
    async with db.sessionmaker.begin() as s:
        order = await orders.place_order(
            s,
            actor=TEST_ACTOR,
            cart_id=None,
            branch_id=branch.id,
            items=items,
            body=body,
            idempotency_key=key,
            fingerprint=orders.request_hash(0, body),
            currency="USD",
        )
    return order


class CrashOnce:
    """Wraps an adapter: the named call reaches the real service, then the first time raises, as
    if the worker died before recording the result."""

    def __init__(self, inner, *methods: str) -> None:
        self.inner = inner
        self.methods = set(methods)
        self.calls: dict[str, int] = {}

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if name not in self.methods:
            return attr

        async def wrapped(*args, **kw):
            result = await attr(*args, **kw)
            self.calls[name] = self.calls.get(name, 0) + 1
            if self.calls[name] == 1:
                raise RuntimeError(f"worker crashed after {name}")
            return result

        return wrapped


async def open_cart(client, db, branch) -> dict:
    """POST /api/v1/carts for a new customer of `branch`; returns the cart JSON."""
    from backroom.customers.schemas import CustomerCreate
    from backroom.customers.service import create_customer

    async with db.sessionmaker.begin() as s:
        customer = await create_customer(
            s, actor=TEST_ACTOR, data=CustomerCreate(name=uniq("Cust "), home_branch_id=branch.id)
        )
    r = await client.post("/api/v1/carts", json={"branch_id": branch.id, "customer_id": customer.id})
    assert r.status_code == 201, r.text
    return r.json()


# --- approvals: the signed-in principal of a user, and a workflow's inbox row ---
async def principal_of(db, user):
    """The user's Principal as the edge builds it (grants from the database)."""
    from backroom.auth.service import principal_for
    from policies import load_enforcer

    async with db.read_sessionmaker() as s:
        return await principal_for(s, user, load_enforcer())


async def inbox_row(db, workflow_id: str, timeout: float = 20.0):
    """The approval request a workflow opened, once its activity has written it."""
    from sqlalchemy import select

    from backroom.approvals.models import ApprovalRequest

    async def check():
        async with db.read_sessionmaker() as s:
            return await s.scalar(select(ApprovalRequest).where(ApprovalRequest.workflow_id == workflow_id))

    return await eventually(check, timeout=timeout)
