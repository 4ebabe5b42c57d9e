"""Catalog API: products and per-branch stock.

Casbin function for the catalog is "vendors": marketplace vendor management covers product
listings, so listing/reading/creating/updating products uses ("vendors", action), and stock
adjustments are ("vendors", "update") in the stock's branch. Vendor users only see and change
their own vendor's products."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Session, require
from backroom.auth.principal import Principal
from backroom.catalog import service as catalog
from backroom.catalog.schemas import ProductCreate, ProductFilter, ProductRead, ProductUpdate, StockAdjust

router = APIRouter(prefix="/api/v1/products", tags=["catalog"])


async def product_json(session: AsyncSession, product) -> dict:
    stock = (await catalog.stock_of(session, [product.id]))[product.id]
    return {
        **ProductRead.model_validate(product).model_dump(mode="json"),
        "stock": [
            {
                "branch_id": s.branch_id,
                "on_hand": s.on_hand,
                "reserved": s.reserved,
                "available": s.on_hand - s.reserved,
            }
            for s in stock
        ],
    }


@router.get("")
async def list_products(
    session: Session, filt: Annotated[ProductFilter, Query()], p: Principal = require("vendors", "list")
):
    """Products, filtered and keyset-paged. Read-only."""
    page = await catalog.list_products(session, filt=filt, vendor_id=p.vendor_id)
    return {
        "items": [ProductRead.model_validate(x).model_dump(mode="json") for x in page.items],
        "next_cursor": page.next_cursor,
    }


@router.post("", status_code=201)
async def create_product(session: Session, body: ProductCreate, p: Principal = require("vendors", "create")):
    """Create a product (a vendor user's products always belong to their vendor)."""
    if p.vendor_id is not None:
        body = body.model_copy(update={"vendor_id": p.vendor_id})
    product = await catalog.create_product(session, actor=p.actor(), data=body)
    return await product_json(session, product)


@router.get("/{product_id}")
async def get_product(session: Session, product_id: int, p: Principal = require("vendors", "read")):
    return await product_json(session, await catalog.get_product(session, product_id, vendor_id=p.vendor_id))


@router.patch("/{product_id}")
async def update_product(
    session: Session, product_id: int, body: ProductUpdate, p: Principal = require("vendors", "update")
):
    product = await catalog.update_product(
        session, actor=p.actor(), product_id=product_id, data=body, vendor_id=p.vendor_id
    )
    return await product_json(session, product)


@router.post("/{product_id}/archive")
async def archive_product(session: Session, product_id: int, p: Principal = require("vendors", "update")):
    product = await catalog.archive_product(
        session, actor=p.actor(), product_id=product_id, vendor_id=p.vendor_id
    )
    return await product_json(session, product)


@router.post("/{product_id}/stock")
async def adjust_stock(
    session: Session, product_id: int, body: StockAdjust, p: Principal = require("vendors", "update")
):
    """Add or remove units on hand in one branch (never below what is reserved)."""
    p.require("vendors", "update", branch_id=body.branch_id)
    await catalog.adjust_stock(
        session,
        actor=p.actor(),
        product_id=product_id,
        branch_id=body.branch_id,
        delta=body.delta,
        reason=body.reason,
        vendor_id=p.vendor_id,
    )
    return await product_json(session, await catalog.get_product(session, product_id))
