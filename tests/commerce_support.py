"""Commerce test support: a localstripe per session, a small catalog, gateways that crash once."""

from __future__ import annotations

import pytest

from backroom.audit.context import Actor
from backroom.catalog import service as catalog
from backroom.catalog.schemas import ProductCreate
from backroom.orders import service as orders
from backroom.orders.schemas import CheckoutRequest
from backroom.payments.localstripe_server import start_localstripe
from backroom.payments.stripe_gateway import StripeGateway
from backroom.shipping.local_carrier import LocalCarrier
from tests.helpers import create_branch, uniq

ACTOR = Actor.system("test")


@pytest.fixture(scope="session")
def localstripe():
    server = start_localstripe(port=0)
    yield server
    server.stop()


@pytest.fixture
def commerce_settings(settings, localstripe):
    settings.stripe_api_key = "sk_test_backroom"
    settings.stripe_api_base = localstripe.url
    settings.stripe_webhook_secret = "whsec_test"
    return settings


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
            actor=ACTOR,
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
                session, actor=ACTOR, product_id=p.id, branch_id=a.id, delta=qa, reason="test"
            )
        if qb:
            await catalog.adjust_stock(
                session, actor=ACTOR, product_id=p.id, branch_id=b.id, delta=qb, reason="test"
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
            actor=ACTOR,
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
            s, actor=ACTOR, data=CustomerCreate(name=uniq("Cust "), home_branch_id=branch.id)
        )
    r = await client.post("/api/v1/carts", json={"branch_id": branch.id, "customer_id": customer.id})
    assert r.status_code == 201, r.text
    return r.json()
