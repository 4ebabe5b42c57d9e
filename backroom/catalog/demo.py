"""Demo catalog: a dozen products in four categories, stocked in both demo branches. Idempotent."""

from __future__ import annotations

from sqlalchemy import select

from backroom.audit.context import Actor
from backroom.catalog import service as catalog
from backroom.catalog.models import Product, StockLevel
from backroom.catalog.schemas import ProductCreate

ACTOR = Actor.system("seed")
# sku, name, category, price (cents), tax bp, weight g, warranty months, stock (branch 1, branch 2)
PRODUCTS = (
    ("LAMP-ARC", "Arc floor lamp", "Lighting", 12900, 825, 4200, 24, (6, 2)),
    ("LAMP-DESK", "Brass desk lamp", "Lighting", 4900, 825, 1300, 12, (10, 4)),
    ("BULB-LED4", "LED bulb, 4-pack", "Lighting", 1299, 825, 300, 0, (40, 25)),
    ("MUG-STONE", "Stoneware mug", "Kitchen", 1400, 825, 450, 0, (30, 0)),
    ("KNIFE-CHEF", "Chef's knife 20 cm", "Kitchen", 8900, 825, 350, 60, (5, 5)),
    ("PAN-CAST", "Cast-iron pan 26 cm", "Kitchen", 5900, 825, 2600, 120, (0, 8)),
    ("THROW-WOOL", "Wool throw", "Textiles", 7900, 825, 1100, 0, (7, 3)),
    ("PILLOW-LIN", "Linen pillow cover", "Textiles", 2900, 825, 250, 0, (12, 12)),
    ("RUG-JUTE", "Jute rug 120x180", "Textiles", 11900, 825, 5200, 0, (2, 1)),
    ("SPEAK-BT", "Bluetooth speaker", "Electronics", 6900, 825, 700, 24, (9, 6)),
    ("CHARGE-65", "65 W USB-C charger", "Electronics", 3900, 825, 200, 24, (20, 0)),
    ("HEAD-ANC", "Noise-cancelling headphones", "Electronics", 24900, 825, 320, 24, (3, 3)),
)


async def seed(session, context) -> None:
    branches = context["branches"]
    for sku, name, category, price, tax, weight, warranty, stock in PRODUCTS:
        product = await session.scalar(select(Product).where(Product.sku == sku))
        if product is None:
            product = await catalog.create_product(
                session,
                actor=ACTOR,
                data=ProductCreate(
                    sku=sku,
                    name=name,
                    category=category,
                    price_minor=price,
                    tax_rate_bp=tax,
                    weight_g=weight,
                    length_mm=300,
                    width_mm=200,
                    height_mm=150,
                    warranty_months=warranty,
                ),
            )
        for branch, qty in zip(branches, stock, strict=False):
            have = await session.scalar(
                select(StockLevel.id).where(
                    StockLevel.product_id == product.id, StockLevel.branch_id == branch.id
                )
            )
            if have is None and qty:
                await catalog.adjust_stock(
                    session,
                    actor=ACTOR,
                    product_id=product.id,
                    branch_id=branch.id,
                    delta=qty,
                    reason="demo opening stock",
                )
