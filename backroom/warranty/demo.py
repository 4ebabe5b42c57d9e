"""Demo warranties: three customers with registrations of the demo catalog's warranted
products, one ending within 30 days, one already ended. Idempotent."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backroom.audit.context import Actor
from backroom.catalog import demo as catalog_demo
from backroom.catalog.models import Product
from backroom.customers.models import Customer
from backroom.customers.schemas import CustomerCreate
from backroom.customers.service import create_customer
from backroom.db.base import utcnow
from backroom.warranty import service as warranty
from backroom.warranty.models import Warranty
from backroom.warranty.schemas import WarrantyCreate

ACTOR = Actor.system("seed")
# name, email (consents to e-mail)
OWNERS = (
    ("Nora Lindqvist", "nora.lindqvist@example.com"),
    ("Omar Haddad", "omar.haddad@example.com"),
    ("Priya Raman", "priya.raman@example.com"),
)
# owner index, sku, serial, days since purchase (24-month products: 715 days = ends in ~15 days)
REGISTRATIONS = (
    (0, "SPEAK-BT", "SPK-24-000117", 90),
    (0, "LAMP-ARC", "ARC-23-004410", 715),
    (1, "HEAD-ANC", "ANC-22-009981", 900),
    (1, "CHARGE-65", "USB-24-120034", 40),
    (2, "HEAD-ANC", "ANC-25-000321", 200),
    (2, "KNIFE-CHEF", "KNF-21-000777", 400),
)


async def owners(session, branch) -> list[Customer]:
    out = []
    for name, email in OWNERS:
        c = await session.scalar(select(Customer).where(Customer.email == email))
        if c is None:
            c = await create_customer(
                session,
                actor=ACTOR,
                data=CustomerCreate(name=name, email=email, home_branch_id=branch.id, consent_email=True),
            )
        out.append(c)
    return out


async def seed(session, context) -> None:
    await catalog_demo.seed(session, context)  # idempotent; the catalog seeds after "aftersales"
    people = await owners(session, context["branches"][0])
    for n, (who, sku, serial, days) in enumerate(REGISTRATIONS):
        if await session.scalar(select(Warranty.id).where(Warranty.serial == serial)):
            continue
        product = await session.scalar(select(Product).where(Product.sku == sku))
        w = await warranty.register_manual(
            session,
            actor=ACTOR,
            data=WarrantyCreate(
                customer_id=people[who].id,
                product_id=product.id,
                serial=serial,
                purchased_at=utcnow() - timedelta(days=days),
                proof="demo receipt",
            ),
        )
        # Recorded over the last weeks (never before the purchase), so the reports have history.
        w.created_at = utcnow() - timedelta(days=min(days, 7 + 8 * n))
