"""Catalog API: products and per-branch stock.

Casbin function for the catalog is "vendors": marketplace vendor management covers product
listings, so listing/reading/creating/updating products uses ("vendors", action), and stock
movements are ("catalog", "post") in the stock's branch; a price change is ("catalog",
"update"), a manager's right. Vendor users only see and change their own vendor's products, and
their new products and listing changes wait for a catalog moderator (backroom/vendors)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import Session, SettingsDep, require
from api.params import Id
from backroom.auth.principal import Principal
from backroom.catalog import service as catalog
from backroom.catalog.schemas import (
    ProductCreate,
    ProductDetail,
    ProductFilter,
    ProductRead,
    ProductUpdate,
    StockAdjust,
    StockBin,
)
from backroom.controls.models import GatedAction
from backroom.controls.schemas import GatedActionRead
from backroom.pagination import PageRead
from backroom.vendors import access as vendor_access

router = APIRouter(prefix="/api/v1/products", tags=["catalog"])


@router.get("")
async def list_products(
    session: Session, filt: Annotated[ProductFilter, Query()], p: Principal = require("vendors", "list")
) -> PageRead[ProductRead]:
    """Products, filtered and keyset-paged. Read-only."""
    page = await catalog.list_products(session, filt=filt, vendor_id=p.vendor_id)
    return PageRead[ProductRead].of(page, ProductRead)


@router.post("", status_code=201)
async def create_product(
    session: Session, settings: SettingsDep, body: ProductCreate, p: Principal = require("vendors", "create")
) -> ProductDetail:
    """Create a product. A vendor user's product belongs to their vendor and goes on sale once a
    moderator approves it."""
    product = await vendor_access.new_product(session, p=p, data=body, prefix=settings.workflow_prefix)
    return await catalog.product_detail(session, product)


@router.get("/{product_id:id}")
async def get_product(
    session: Session, product_id: Id, p: Principal = require("vendors", "read")
) -> ProductDetail:
    product = await catalog.get_product(session, product_id, vendor_id=p.vendor_id)
    return await catalog.product_detail(session, product)


@router.patch("/{product_id:id}", responses={202: {"model": GatedActionRead}})
async def update_product(
    session: Session,
    settings: SettingsDep,
    response: Response,
    product_id: Id,
    body: ProductUpdate,
    p: Principal = require("vendors", "update"),
) -> ProductDetail | GatedActionRead:
    """Change a product. A vendor user's listing changes wait for a moderator; staff need
    ("catalog", "update") to change a price, and a price moving more than
    PRICE_CHANGE_APPROVAL_OVER_PERCENT waits for a manager's approval (202 with the request;
    the other fields change at once)."""
    product, gated = await vendor_access.edit_product(
        session, p=p, product_id=product_id, data=body, settings=settings
    )
    if gated is not None:
        response.status_code = 202
        return GatedActionRead.model_validate(gated)
    return await catalog.product_detail(session, product)


@router.post("/{product_id:id}/archive")
async def archive_product(
    session: Session, product_id: Id, p: Principal = require("vendors", "update")
) -> ProductDetail:
    product = await catalog.archive_product(
        session, actor=p.actor(), product_id=product_id, vendor_id=p.vendor_id
    )
    return await catalog.product_detail(session, product)


@router.put("/{product_id:id}/bin")
async def set_bin(
    session: Session, product_id: Id, body: StockBin, p: Principal = require("catalog", "post")
) -> ProductDetail:
    """Where a branch keeps the product (shelf or bin, shown on pick lists). Idempotent."""
    p.require("catalog", "post", branch_id=body.branch_id)
    await catalog.set_bin(
        session,
        actor=p.actor(),
        product_id=product_id,
        branch_id=body.branch_id,
        bin=body.bin,
        vendor_id=p.vendor_id,
    )
    return await catalog.product_detail(
        session, await catalog.get_product(session, product_id, vendor_id=p.vendor_id)
    )


@router.post("/{product_id:id}/stock", responses={202: {"model": GatedActionRead}})
async def adjust_stock(
    session: Session,
    settings: SettingsDep,
    response: Response,
    product_id: Id,
    body: StockAdjust,
    p: Principal = require("catalog", "post"),
) -> ProductDetail | GatedActionRead:
    """Add or remove units on hand in one branch (never below what is reserved); a write-off
    above the branch's threshold waits for a manager's approval (202 with the request)."""
    p.require("catalog", "post", branch_id=body.branch_id)
    out = await catalog.adjust_or_request(
        session,
        actor=p.actor(),
        product_id=product_id,
        branch_id=body.branch_id,
        delta=body.delta,
        reason=body.reason,
        settings=settings,
        vendor_id=p.vendor_id,
    )
    if isinstance(out, GatedAction):
        response.status_code = 202
        return GatedActionRead.model_validate(out)
    return await catalog.product_detail(
        session, await catalog.get_product(session, product_id, vendor_id=p.vendor_id)
    )
