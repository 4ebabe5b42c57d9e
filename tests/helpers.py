"""Plain test-data helpers and clients for the app (no fixtures hidden here)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import re
import socket
import string
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select, update
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from api.app import create_app
from backroom.audit.context import Actor
from backroom.audit.service import record, snapshot
from backroom.auth import service as auth
from backroom.auth.models import User
from backroom.branches.models import Branch
from backroom.branches.service import ensure_branch
from backroom.catalog import service as catalog
from backroom.catalog.models import Product
from backroom.catalog.schemas import ProductCreate
from backroom.customers.models import Customer
from backroom.db.base import utcnow
from backroom.loyalty import service as loyalty
from backroom.loyalty.models import LoyaltyProgram
from backroom.loyalty.schemas import ProgramCreate, TierIn
from backroom.orders import service as orders
from backroom.orders.schemas import CheckoutRequest
from backroom.payments.stripe_gateway import StripeGateway
from backroom.promotions import service as promotions
from backroom.promotions.schemas import PromotionCreate
from backroom.shipping.local_carrier import LocalCarrier
from backroom.starts.service import Outbox
from backroom.vendors import service as vendors
from backroom.vendors.flow import GateDecision
from backroom.vendors.schemas import VendorApply
from backroom.warranty import service as warranty
from backroom.warranty.schemas import WarrantyCreate
from worker.registry import Deps, build_worker
from workflows.aftersales import RmaCaseWorkflow

TEST_ACTOR = Actor.system("test")
PASSWORD = "correct-horse-battery"


def free_port() -> int:
    """A free TCP port on loopback, for a server a test or benchmark starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# A counter from a random start: eight hex digits that never repeat within a test process
# (random ones met by the birthday bound once a test wrote thousands of rows into a shared
# database), and processes sharing a database start far apart.
_uniq = itertools.count(random.SystemRandom().randrange(2**32))


def uniq(prefix: str = "x") -> str:
    """A fresh suffix after `prefix`: unique within this process, eight hex digits."""
    return f"{prefix}{next(_uniq) % 2**32:08x}"


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


async def sign_in(client: httpx.AsyncClient, username: str, password: str, **fields) -> httpx.Response:
    """Post the sign-in form as a browser does: open the page first for its CSRF token."""
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    return await client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token, **fields}
    )


async def browser_client(app, username: str, password: str = PASSWORD) -> httpx.AsyncClient:
    """A UI client signed in through the sign-in form; `client.csrf` holds the form token."""
    client = client_for(app)
    resp = await sign_in(client, username, password, next="/")
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


async def withdraw_limit_request(db, request_id: int) -> None:
    """Close a credit-limit request elsewhere (as the request's own page might), rejected."""
    from backroom.credit import limits

    async with db.sessionmaker.begin() as s:
        await limits.close_request(
            s,
            actor=TEST_ACTOR,
            request_id=request_id,
            status="rejected",
            decided_by_id=None,
            reason="Withdrawn",
        )


async def case_step(handle, step):
    """Send a person's step to a repair case once its workflow lets people act: the workflow
    refuses steps while it is busy with its own part (a label, a mail), as it does the API.
    Waits (by query) until it is not busy before each try: every refused Update is a workflow
    task on the server, and a stream of them beside the workflow's own tasks once made the
    time-skipping test server reject a task ("invalid history builder state for action")."""
    for _ in range(200):
        await until_idle(handle)
        try:
            return await handle.execute_update(RmaCaseWorkflow.act, step)
        except WorkflowUpdateFailedError as exc:
            if "being processed" not in str(exc.cause):
                raise
            await asyncio.sleep(0.05)
    raise AssertionError(f"{step.action} was never accepted")


async def until_idle(handle, tries: int = 400) -> None:
    """Wait until a repair case's workflow is not busy with its own part (CaseView.busy)."""
    for _ in range(tries):
        if not (await handle.query(RmaCaseWorkflow.view)).busy:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the case's workflow stayed busy")


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


@asynccontextmanager
async def outbox_poller(client, db, task_queue: str, every: float = 0.5):
    """The worker process's outbox poller (worker/__main__.py) for a test: delivers the starts
    and signals a request could not dispatch in its bounded time (seen under a loaded suite)."""
    task = asyncio.create_task(Outbox(db.sessionmaker, task_queue).run_poller(client, every=every))
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


# --- the approval gate: the inbox row a workflow opened, a staff decision ---
async def principal_of(db, user):
    """The user's Principal as the edge builds it (grants from the database)."""
    from backroom.auth.service import principal_for
    from policies import load_enforcer

    async with db.read_sessionmaker() as s:
        return await principal_for(s, user, load_enforcer())


async def approval_for(db, workflow_id: str, timeout: float = 20.0):
    """The approval request `workflow_id` opened (waits for the gate's activity)."""
    from sqlalchemy import select

    from backroom.approvals.models import ApprovalRequest

    async def row():
        async with db.read_sessionmaker() as s:
            return await s.scalar(select(ApprovalRequest).where(ApprovalRequest.workflow_id == workflow_id))

    return await eventually(row, timeout=timeout)


async def decide(db, client, row, p, *, approve: bool = True, reason: str | None = None):
    """Decide `row` as the principal `p` through the inbox's use case: recorded in one
    transaction, then the workflow told by the outbox's dispatch, as the API does on commit."""
    from backroom.approvals import service as approvals
    from backroom.starts import service as starts

    async with db.sessionmaker() as s:
        async with s.begin():
            outcome = await approvals.decide(s, request_id=row.id, p=p, approve=approve, reason=reason)
        await Outbox(db.sessionmaker, default_queue="-").dispatch(
            client, starts.take_queued(s) + starts.take_later(s)
        )
    return outcome


async def decide_as(db, client, req, user, *, approve: bool = True):
    """Decide `req` as `user` (a row of users) through the inbox's use case."""
    reason = None if approve else "Not this one"
    return await decide(db, client, req, await principal_of(db, user), approve=approve, reason=reason)


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


async def set_order_status(db, order, status: str, key: str | None = None):
    """Record an order status as the order workflow's activity does (lifecycle hooks run)."""
    async with db.sessionmaker.begin() as s:
        return await orders.set_status(
            s,
            actor=TEST_ACTOR,
            order_id=order.id,
            status=status,
            message=status,
            key=key or f"k-{order.id}-{status}",
        )


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


async def pay_in_browser(shop, status_url: str, settings, number: str = "4242424242424242") -> httpx.Response:
    """What the storefront's card form does: wait for the payment to open, confirm it with the
    publishable key and the card (Stripe.js's request to Stripe, never to us), then post back.
    Returns Stripe's answer; on success the post-back has been sent."""
    import asyncio
    import re

    from backroom.orders.adapters import stripe_js

    for _ in range(200):
        page = await shop.get(status_url)
        found = re.search(r'data-key="([^"]+)" data-secret="((pi_\w+)_secret_\w+)"', page.text)
        if found:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"no card form on {status_url}")
    key, secret, intent = found.groups()
    card = {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"}
    async with httpx.AsyncClient(
        base_url=stripe_js(settings)[0].removesuffix("/js.stripe.com/v3/")
    ) as stripe:
        answer = await stripe.post(
            f"/v1/payment_intents/{intent}/confirm",
            json={"key": key, "client_secret": secret, "payment_method_data": {"type": "card", "card": card}},
        )
    if answer.status_code == 200:
        done = await shop.post(f"{status_url}/payment", data={"csrf_token": shop.cookies.get("shop_sid")})
        assert done.status_code == 303, done.text
    return answer


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


async def pending_approval(session, branch_id: int, *, roles: str = "finance"):
    """An open credit approval request in `branch_id` whose workflow id names no running
    workflow (for tests of deciding while Temporal cannot answer)."""
    from backroom.approvals.models import ApprovalRequest

    row = ApprovalRequest(
        key=uniq("k-"),
        workflow_id=uniq("wf-"),
        branch_id=branch_id,
        subject_type="customer",
        subject_id="1",
        title="t",
        function="credit",
        action="approve",
        roles=roles,
        level=1,
        status="pending",
    )
    session.add(row)
    await session.flush()
    return row


# --- warranty and after-sales: a warranted product, a delivered order ---
async def warranted_product(session, *, months=12, price=49900, kind="goods", stock_branch=None, stock=0):
    p = await catalog.create_product(
        session,
        actor=TEST_ACTOR,
        data=ProductCreate(
            sku=uniq("W-"), name=f"Drill {uniq()}", category="tools", price_minor=price, weight_g=900
        ),
    )
    await session.execute(update(Product).where(Product.id == p.id).values(warranty_months=months, kind=kind))
    await session.refresh(p)
    if stock_branch is not None and stock:
        await catalog.adjust_stock(
            session, actor=TEST_ACTOR, product_id=p.id, branch_id=stock_branch.id, delta=stock, reason="test"
        )
    return p


async def registered(
    session,
    *,
    left: timedelta,
    now: datetime | None = None,
    months=12,
    consent=True,
    serial=None,
    branch=None,
):
    """(branch, customer, product, warranty) registered by hand, ending `left` after `now` (the
    time-skipping server's clock runs ahead of the wall clock, so tests pass its time)."""
    branch = branch or await create_branch(session)
    customer = await create_customer(session, branch=branch, consent_email=consent)
    product = await warranted_product(session, months=months)
    w = await warranty.register_manual(
        session,
        actor=TEST_ACTOR,
        data=WarrantyCreate(
            customer_id=customer.id,
            product_id=product.id,
            serial=serial or uniq("SN"),
            purchased_at=utcnow() - timedelta(days=1),
            proof="receipt 42",
        ),
    )
    w.expires_at = (now or utcnow()) + left
    w.starts_at = w.purchased_at = w.expires_at - timedelta(days=30 * months)
    await session.flush()
    return branch, customer, product, w


async def paid_delivered_order(db, settings, gateway, *, price=49900, months=12, qty=1):
    """A branch, a customer, a warranted product and an order of it, paid on localstripe and
    delivered (which registered its warranties). Returns (branch, customer, product, order, line)."""
    from backroom.orders import service as orders
    from tests.helpers import place

    async with db.sessionmaker.begin() as s:
        branch = await create_branch(s)
        customer = await create_customer(s, branch=branch, consent_email=True)
        product = await warranted_product(s, months=months, price=price, stock_branch=branch, stock=5)
    order = await place(db, branch, [(product.id, qty)])
    auth = await gateway.authorize(order.total_minor, "USD", "pm_card_visa", uniq("auth-"))
    captured = await gateway.capture(auth.intent_id, None, uniq("cap-"))
    async with db.sessionmaker.begin() as s:
        o = await orders.get_order(s, order.id)
        o.customer_id, o.payment_intent_id, o.captured_minor = (
            customer.id,
            auth.intent_id,
            captured.captured_minor,
        )
        await orders.set_status(
            s, actor=TEST_ACTOR, order_id=o.id, status="delivered", message="Delivered.", key=uniq("dlv-")
        )
        line = (await orders.lines_of(s, o.id))[0]
    return branch, customer, product, o, line


# --- faults: a TCP proxy in front of Temporal that can be cut ---
class TcpProxy:
    """Forwards 127.0.0.1:<port> to `target`. `cut()` drops every connection and refuses new
    ones, as a Temporal server killed with -9 would; `restore()` listens again on the same port."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._open |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()
        self._open.discard(writer)

    async def cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for w in list(self._open):
            w.transport.abort()
        self._open.clear()
        if server is not None:
            await server.wait_closed()

    async def restore(self) -> None:
        await self.start()


# --- loyalty and segments: a program in a currency of its own ---
TIERS = [
    TierIn(name="Bronze", min_spend_minor=0, multiplier_percent=100),
    TierIn(name="Silver", min_spend_minor=50_000, multiplier_percent=125, perks="Free shipping"),
    TierIn(name="Gold", min_spend_minor=200_000, multiplier_percent=150, perks="Early access"),
]


async def fresh_currency(session) -> str:
    used = set((await session.scalars(select(LoyaltyProgram.currency))).all()) | {"USD", "EUR", "GBP", "JPY"}
    while True:
        code = "".join(random.choices(string.ascii_uppercase, k=3))
        if code not in used:
            return code


async def make_program(session, **kw) -> LoyaltyProgram:
    data = ProgramCreate(
        name=kw.pop("name", "Test rewards"),
        currency=kw.pop("currency", None) or await fresh_currency(session),
        tiers=kw.pop("tiers", TIERS),
        **kw,
    )
    program = await loyalty.create_program(session, actor=TEST_ACTOR, data=data)
    await loyalty.activate_program(session, actor=TEST_ACTOR, program_id=program.id)
    return program


async def make_member(session, program, *, branch=None, consent_email=True, **kw):
    branch = branch or await create_branch(session)
    customer = await create_customer(
        session, branch=branch, currency=program.currency, consent_email=consent_email, **kw
    )
    member = await loyalty.enrol(session, actor=TEST_ACTOR, customer_id=customer.id, consent=True)
    return customer, member


async def add_order(
    session, customer, *, total_minor: int, placed_at, status: str = "delivered", currency="USD", product=None
):
    """An order row as the order workflow leaves it (for segment and RFM tests: no stock, no
    payment gateway involved)."""
    from backroom.orders.models import Order
    from tests.helpers import uniq

    order = Order(
        token=uniq("tok"),
        idempotency_key=uniq("idem"),
        request_hash="x" * 64,
        customer_id=customer.id,
        email=customer.email or "x@example.com",
        ship_name=customer.name,
        ship_line1="1 Main St",
        ship_city="Town",
        ship_postcode="1000",
        ship_country="US",
        status=status,
        currency=currency,
        subtotal_minor=total_minor,
        total_minor=total_minor,
        payment_method="pm_card_visa",
        placed_at=placed_at,
        branch_id=customer.home_branch_id,
    )
    session.add(order)
    await session.flush()
    if product is not None:  # one line of that product worth the whole order
        from backroom.orders.models import OrderLine

        session.add(
            OrderLine(
                order_id=order.id,
                product_id=product.id,
                sku=product.sku,
                name=product.name,
                qty=1,
                unit_price_minor=total_minor,
                line_total_minor=total_minor,
                fulfil_branch_id=customer.home_branch_id,
            )
        )
        await session.flush()
    return order


# --- promotions and cart recovery: promotions with a code, orders with codes ---
async def make_promotion(session, branch, *, submit=True, **terms):
    """A promotion owned by `branch` with a fresh shared code (unless code_mode says otherwise),
    submitted (live at once when low-risk)."""
    terms.setdefault("name", uniq("Promo "))
    terms.setdefault("kind", "percentage")
    if terms["kind"] == "percentage":
        terms.setdefault("percent_bp", 1000)
    terms.setdefault("usage_limit", 100)
    if terms.get("code_mode", "shared") == "shared":
        terms.setdefault("code", uniq("SAVE").upper())
    promo = await promotions.create_promotion(
        session, actor=TEST_ACTOR, data=PromotionCreate(**terms), branch_id=branch.id, currency="USD"
    )
    if submit:
        await promotions.submit(session, actor=TEST_ACTOR, promotion_id=promo.id)
    return promo


async def place_with(
    session, branch, items, *, codes=(), email=None, customer_id=None, channel="storefront", **fields
):
    """Place an order in `session`; `fields` override the checkout form's (ship_name...)."""
    body = checkout_body(email=email or f"{uniq('b')}@example.com", **fields)
    return await orders.place_order(
        session,
        actor=TEST_ACTOR,
        cart_id=None,
        branch_id=branch.id,
        items=items,
        body=body,
        idempotency_key=uniq("idem-"),
        fingerprint=orders.request_hash(0, body),
        currency="USD",
        customer_id=customer_id,
        codes=list(codes),
        channel=channel,
    )


# --- vendors: a vendor with users and products ---
async def make_vendor(
    session, *, branch, status: str = "approved", trusted: bool = False, name: str | None = None, **kw
):
    """A vendor that applied and was decided (`approved`, `rejected`, `suspended`; `applied`
    leaves it waiting). Paid by Stripe unless `payout_method="bank"` is given."""
    data = {
        "name": name or uniq("Vendor "),
        "legal_name": kw.pop("legal_name", "Vendor Trading LLC"),
        "contact_name": "Vera Vendor",
        "contact_email": f"{uniq('v')}@vendor.example.com",
        "contact_phone": kw.pop("contact_phone", "+1 555 0100"),
        "tax_id": "US-12-3456789",
        "categories": ["Ceramics"],
        "payout_method": kw.pop("payout_method", "stripe"),
    }
    if data["payout_method"] == "stripe":
        data["stripe_account_id"] = kw.pop("stripe_account_id", "acct_" + uniq("t"))
    else:
        data.update(bank_account_name="Vendor Trading LLC", bank_iban="DE89370400440532013000")
    vendor = await vendors.apply(session, actor=TEST_ACTOR, data=VendorApply(**data), branch_id=branch.id)
    if status != "applied":
        decided = "approved" if status in ("approved", "suspended") else "rejected"
        await vendors.decide_application(
            session,
            actor=TEST_ACTOR,
            decision=GateDecision(
                subject_id=vendor.id, status=decided, decided_by_name="Test", reason="test"
            ),
        )
    if status == "suspended":
        await vendors.suspend(session, actor=TEST_ACTOR, vendor_id=vendor.id, reason="test")
    vendor.trusted = trusted
    for k, v in kw.items():
        setattr(vendor, k, v)
    await session.flush()
    return vendor


async def vendor_user(session, *, vendor, branch, **kw):
    return await create_user(session, grants=[("vendor", branch.id)], vendor_id=vendor.id, **kw)


async def vendor_product(
    session, *, vendor, branch, price: int = 2500, stock: int = 10, name: str | None = None
):
    """A listed (active) product of the vendor with stock in `branch`."""
    product = await catalog.create_product(
        session,
        actor=TEST_ACTOR,
        data=ProductCreate(
            sku=uniq("VP-"),
            name=name or uniq("Vendor item "),
            category="Ceramics",
            price_minor=price,
            vendor_id=vendor.id,
            weight_g=400,
        ),
    )
    if stock:
        await catalog.adjust_stock(
            session, actor=TEST_ACTOR, product_id=product.id, branch_id=branch.id, delta=stock, reason="test"
        )
    return product
