"""Staff catalog pages: products (Casbin function "vendors", see api/routes/catalog.py) and stock."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Session, SettingsDep, require
from api.params import Id
from api.ui.common import form_amount, form_percent, parse_filter, parse_form, redirect, render
from backroom.audit import service as audit
from backroom.auth.principal import Principal
from backroom.branches import service as branches
from backroom.catalog import service as catalog
from backroom.catalog.schemas import ProductCreate, ProductFilter, ProductUpdate, StockAdjust, StockBin
from backroom.controls.models import GatedAction
from backroom.vendors import access as vendor_access
from backroom.vendors.service import names as vendor_names

router = APIRouter(include_in_schema=False)
NAV = [("Catalog", "/catalog", ("vendors", "list"), 30)]


@router.get("/catalog")
async def product_list(session: Session, request: Request, p: Principal = require("vendors", "list")):
    filt = parse_filter(request, ProductFilter)
    page = await catalog.list_products(session, filt=filt, vendor_id=p.vendor_id)
    stock = await catalog.stock_of(session, [x.id for x in page.items])
    return render(request, "commerce/catalog.html", p, page=page, filt=filt, stock=stock)


@router.get("/catalog/new")
async def new_product(request: Request, p: Principal = require("vendors", "create")):
    return render(
        request, "commerce/product_form.html", p, values={"currency": "USD"}, errors={}, product=None
    )


@router.post("/catalog/new")
async def create_product(
    session: Session, settings: SettingsDep, request: Request, p: Principal = require("vendors", "create")
):
    data, errors, raw = await parse_form(request, ProductCreate)
    if data is None:
        return render(
            request, "commerce/product_form.html", p, status=422, values=raw, errors=errors, product=None
        )
    product = await vendor_access.new_product(session, p=p, data=data, prefix=settings.workflow_prefix)
    note = " It goes on sale once a moderator approves it." if product.status == "pending" else ""
    return redirect(f"/catalog/{product.id}", flash="Product created." + note)


async def _product_page(
    request: Request,
    p: Principal,
    session: AsyncSession,
    product_id: int,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    stock_errors: dict | None = None,
    status: int = 200,
):
    product = await catalog.get_product(session, product_id, vendor_id=p.vendor_id)
    stock = (await catalog.stock_of(session, [product.id]))[product.id]
    trail = await audit.trail(session, entity_type="product", entity_id=product.id, may_read=p.reader())
    vendor_name = (await vendor_names(session, [product.vendor_id])).get(product.vendor_id)
    return render(
        request,
        "commerce/product.html",
        p,
        status=status,
        product=product,
        stock=stock,
        branches=sorted(await branches.list_branches(session), key=lambda b: b.id),
        values=values or _shown(product),
        errors=errors or {},
        stock_errors=stock_errors or {},
        trail=trail,
        vendor_name=vendor_name,
    )


def _shown(product) -> dict:
    """The product form's boxes: money and the tax rate as people type them."""
    values = {k: getattr(product, k) for k in ProductUpdate.model_fields}
    values["price"] = form_amount(values.pop("price_minor"), product.currency)
    values["tax_rate"] = form_percent(values.pop("tax_rate_bp"))
    return values


@router.get("/catalog/{product_id}")
async def product_page(
    session: Session, request: Request, product_id: Id, p: Principal = require("vendors", "read")
):
    return await _product_page(request, p, session, product_id)


@router.post("/catalog/{product_id}")
async def update_product(
    session: Session,
    settings: SettingsDep,
    request: Request,
    product_id: Id,
    p: Principal = require("vendors", "update"),
):
    currency = (await catalog.get_product(session, product_id, vendor_id=p.vendor_id)).currency
    data, errors, raw = await parse_form(request, ProductUpdate, currency=currency)
    if data is None:
        return await _product_page(request, p, session, product_id, values=raw, errors=errors, status=422)
    _product, gated = await vendor_access.edit_product(
        session, p=p, product_id=product_id, data=data, settings=settings
    )
    if gated:
        flash = f"Saved; the price change waits for a manager's approval (request #{gated.id})."
    elif p.vendor_id is not None:
        flash = "Saved. Listing changes wait for the moderator."
    else:
        flash = "Saved."
    return redirect(f"/catalog/{product_id}", flash=flash)


@router.post("/catalog/{product_id}/archive")
async def archive(
    session: Session, request: Request, product_id: Id, p: Principal = require("vendors", "update")
):
    await catalog.archive_product(session, actor=p.actor(), product_id=product_id, vendor_id=p.vendor_id)
    return redirect(f"/catalog/{product_id}", flash="Archived: no longer for sale.")


@router.post("/catalog/{product_id}/bin")
async def set_bin(
    session: Session, request: Request, product_id: Id, p: Principal = require("catalog", "post")
):
    data, errors, _raw = await parse_form(request, StockBin)
    if data is None:
        return await _product_page(request, p, session, product_id, stock_errors=errors, status=422)
    p.require("catalog", "post", branch_id=data.branch_id)
    await catalog.set_bin(
        session,
        actor=p.actor(),
        product_id=product_id,
        branch_id=data.branch_id,
        bin=data.bin,
        vendor_id=p.vendor_id,
    )
    return redirect(f"/catalog/{product_id}", flash="Shelf saved." if data.bin else "Shelf cleared.")


@router.post("/catalog/{product_id}/stock")
async def adjust(
    session: Session,
    settings: SettingsDep,
    request: Request,
    product_id: Id,
    p: Principal = require("catalog", "post"),
):
    data, errors, _raw = await parse_form(request, StockAdjust)
    if data is None:
        return await _product_page(request, p, session, product_id, stock_errors=errors, status=422)
    p.require("catalog", "post", branch_id=data.branch_id)
    out = await catalog.adjust_or_request(
        session,
        actor=p.actor(),
        product_id=product_id,
        branch_id=data.branch_id,
        delta=data.delta,
        reason=data.reason,
        settings=settings,
        vendor_id=p.vendor_id,
    )
    if isinstance(out, GatedAction):
        return redirect(
            f"/catalog/{product_id}", flash=f"Write-off sent for a manager's approval (request #{out.id})."
        )
    return redirect(f"/catalog/{product_id}", flash="Stock changed.")
