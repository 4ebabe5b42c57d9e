"""Staff pages for carts: the open carts (of a branch, or of one customer), and one cart to
see and work on behalf of the customer: its lines with live stock, the discount per line and
in total, the codes entered (coupons, POINTS) and why one does not apply; add an item by SKU,
change a quantity, enter or remove a code. Every change goes to the cart's workflow, which
re-prices through the one price() function, exactly as the storefront and the API do."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from api.deps import READS_FIRST, READS_ONLY, Session, SettingsDep, TemporalFactory, require
from api.params import Id
from api.ui.common import parse_form, redirect, render
from backroom.auth.principal import Principal
from backroom.branches.models import Branch
from backroom.carts import service as carts
from backroom.carts.models import Cart
from backroom.carts.schemas import CartCode, CartItem, CartQty
from backroom.catalog import service as catalog
from backroom.catalog.models import Product
from backroom.customers.models import AddressKind, Customer, CustomerAddress
from backroom.customers.service import get_customer
from backroom.errors import AppError, InvalidInput, WorkflowServiceUnavailable
from backroom.orders.checkout import checkout
from backroom.orders.schemas import CheckoutRequest

router = APIRouter(include_in_schema=False)
NAV = [("Carts", "/carts", ("carts", "list"), 37)]


class AddForm(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    sku: str = Field(min_length=1, max_length=64)
    qty: int = Field(default=1, ge=1, le=999)


class QtyForm(BaseModel):
    product_id: int = Field(ge=1)
    qty: int = Field(ge=0, le=999)


class CodeForm(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    code: str = Field(min_length=1, max_length=40)


@router.get("/carts")
async def cart_list(session: Session, request: Request, p: Principal = require("carts", "list")):
    """Open carts of the branches the user sees, newest activity first; `?customer=ID` one customer's."""
    customer = None
    stmt = select(Cart, Customer.name).outerjoin(Customer, Customer.id == Cart.customer_id)
    branch_ids = p.branch_ids("carts", "list")
    if branch_ids is not None:
        stmt = stmt.where(Cart.branch_id.in_(branch_ids or {-1}))
    raw = request.query_params.get("customer")
    if raw:
        if not raw.isdigit():
            raise InvalidInput("Choose a customer from the list.", field="customer")
        customer = await get_customer(session, int(raw))
        p.require("customers", "read", customer.home_branch_id)
        stmt = stmt.where(Cart.customer_id == customer.id)
    else:
        stmt = stmt.where(Cart.status.in_(("open", "checking_out")), Cart.item_count > 0)
    rows = (await session.execute(stmt.order_by(Cart.last_activity_at.desc()).limit(100))).all()
    branches = {b.id: b.name for b in await session.scalars(select(Branch))}
    return render(request, "carts/list.html", p, rows=rows, customer=customer, branches=branches)


@router.post("/customers/{customer_id}/cart")
async def start_cart(
    session: Session, settings: SettingsDep, customer_id: Id, p: Principal = require("carts", "create")
):
    """Open a cart for the customer (or go to the one they have open). Sells from the
    customer's home branch."""
    customer = await get_customer(session, customer_id)
    p.require("carts", "create", branch_id=customer.home_branch_id)
    cart = await carts.open_cart_for(session, customer_id=customer.id)
    if cart is None:
        cart = await carts.create_cart(
            session,
            actor=p.actor(),
            branch_id=customer.home_branch_id,
            currency=customer.currency,
            customer_id=customer.id,
        )
    return redirect(f"/carts/{cart.id}")


@router.get("/carts/{cart_id}")
async def cart_page(
    session: Session,
    settings: SettingsDep,
    request: Request,
    cart_id: Id,
    p: Principal = require("carts", "read"),
):
    return await _cart_page(session, settings, request, p, cart_id)


async def _cart_page(
    session,
    settings,
    request: Request,
    p: Principal,
    cart_id: int,
    *,
    values=None,
    errors=None,
    checkout_key=None,
    status=200,
):
    cart = await carts.get_cart(session, cart_id)
    p.require("carts", "read", branch_id=cart.branch_id)
    lines = await carts.lines_of(session, cart.id)
    view = None
    if lines:  # codes and per-line discounts live in the cart's workflow
        try:
            client = await request.app.state.temporal.client()
            view = await carts.live_view(client, cart, prefix=settings.workflow_prefix)
        except WorkflowServiceUnavailable:
            view = None  # the page still shows the cart from the database
    stock = await catalog.stock_of(session, [ln.product_id for ln in lines])
    available = {pid: sum(s.on_hand - s.reserved for s in rows) for pid, rows in stock.items()}
    customer = await session.get(Customer, cart.customer_id) if cart.customer_id else None
    branch = await session.get(Branch, cart.branch_id)
    return render(
        request,
        "carts/detail.html",
        p,
        status=status,
        cart=cart,
        lines=lines,
        view=view,
        available=available,
        customer=customer,
        branch=branch,
        editable=cart.status == "open" and p.can("carts", "update", cart.branch_id),
        can_order=cart.status == "open" and bool(lines) and p.can("orders", "create", cart.branch_id),
        values=values if values is not None else await _ship_to(session, customer),
        errors=errors or {},
        checkout_key=checkout_key or uuid.uuid4().hex,
    )


async def _ship_to(session, customer: Customer | None) -> dict:
    """The order form filled in from the customer's e-mail and default shipping address."""
    if customer is None:
        return {"ship_country": "US"}
    address = await session.scalar(
        select(CustomerAddress)
        .where(CustomerAddress.customer_id == customer.id, CustomerAddress.kind == AddressKind.shipping)
        .order_by(CustomerAddress.is_default.desc(), CustomerAddress.id.desc())
        .limit(1)
    )
    values = {"email": customer.email or "", "ship_name": customer.name, "ship_country": "US"}
    if address is not None:
        values |= {
            "ship_line1": address.line1 or "",
            "ship_city": address.city or "",
            "ship_postcode": address.postal_code or "",
            "ship_country": address.country or "US",
        }
    return values


async def _writable(session, p: Principal, cart_id: int) -> Cart:
    """The cart (404 if there is none), if the user may change carts of its branch (else 403)."""
    cart = await carts.get_cart(session, cart_id)
    p.require("carts", "update", branch_id=cart.branch_id)
    return cart


async def _change(session, settings, connect, p: Principal, cart_id: int, name: str, arg, done: str):
    cart = await _writable(session, p, cart_id)
    try:
        await carts.change(
            session,
            connect,
            cart=cart,
            name=name,
            arg=arg,
            task_queue=settings.task_queue,
            prefix=settings.workflow_prefix,
        )
    except AppError as exc:  # out of stock, a code that does not apply: the reason, in words
        return redirect(f"/carts/{cart_id}", flash=f"Not changed: {exc.detail}")
    return redirect(f"/carts/{cart_id}", flash=done)


@router.post("/carts/{cart_id}/items", dependencies=[READS_ONLY])
async def add_item(
    session: Session,
    settings: SettingsDep,
    connect: TemporalFactory,
    request: Request,
    cart_id: Id,
    p: Principal = require("carts", "update"),
):
    await _writable(session, p, cart_id)
    form, _, _ = await parse_form(request, AddForm)
    if form is None:
        return redirect(f"/carts/{cart_id}", flash="Type the SKU and a quantity from 1 to 999.")
    product = await session.scalar(select(Product).where(func.upper(Product.sku) == form.sku.upper()))
    if product is None:
        return redirect(f"/carts/{cart_id}", flash=f"No product has the SKU {form.sku}.")
    item = CartItem(product_id=product.id, qty=form.qty)
    return await _change(
        session, settings, connect, p, cart_id, "add", item, f"Added {form.qty} × {product.name}."
    )


@router.post("/carts/{cart_id}/qty", dependencies=[READS_ONLY])
async def set_qty(
    session: Session,
    settings: SettingsDep,
    connect: TemporalFactory,
    request: Request,
    cart_id: Id,
    p: Principal = require("carts", "update"),
):
    await _writable(session, p, cart_id)
    form, _, _ = await parse_form(request, QtyForm)
    if form is None:
        return redirect(f"/carts/{cart_id}", flash="Type a quantity from 0 to 999 (0 removes the item).")
    change = CartQty(product_id=form.product_id, qty=form.qty)
    return await _change(session, settings, connect, p, cart_id, "set_qty", change, "Quantity changed.")


@router.post("/carts/{cart_id}/codes", dependencies=[READS_ONLY])
async def apply_code(
    session: Session,
    settings: SettingsDep,
    connect: TemporalFactory,
    request: Request,
    cart_id: Id,
    p: Principal = require("carts", "update"),
):
    """Enter a coupon code (or POINTS to pay with loyalty points) for the customer."""
    return await _code(session, settings, connect, request, p, cart_id, "apply_code", "Code {} applied.")


@router.post("/carts/{cart_id}/codes/remove", dependencies=[READS_ONLY])
async def remove_code(
    session: Session,
    settings: SettingsDep,
    connect: TemporalFactory,
    request: Request,
    cart_id: Id,
    p: Principal = require("carts", "update"),
):
    return await _code(session, settings, connect, request, p, cart_id, "remove_code", "Code {} removed.")


async def _code(session, settings, connect, request, p, cart_id: int, name: str, done: str):
    await _writable(session, p, cart_id)
    form, _, _ = await parse_form(request, CodeForm)
    if form is None:
        return redirect(f"/carts/{cart_id}", flash="Type the code.")
    try:
        code = CartCode(code=form.code)
    except ValueError:
        return redirect(f"/carts/{cart_id}", flash="That is not a discount code.")
    return await _change(session, settings, connect, p, cart_id, name, code, done.format(code.code))


@router.post("/carts/{cart_id}/order", dependencies=[READS_FIRST])
async def place_order(
    session: Session,
    settings: SettingsDep,
    connect: TemporalFactory,
    request: Request,
    cart_id: Id,
    p: Principal = require("orders", "create"),
):
    """Place the customer's order from the cart; the customer pays by card through the link the
    order's e-mail carries (the shop's order page, Stripe.js). The form's hidden checkout key is
    the Idempotency-Key: a double click finds the same order."""
    cart = await carts.get_cart(session, cart_id)
    p.require("orders", "create", branch_id=cart.branch_id)
    form = await request.form()
    key = str(form.get("checkout_key") or "")
    data, errors, raw = await parse_form(request, CheckoutRequest)
    if data is None:
        return await _cart_page(
            session, settings, request, p, cart_id, values=raw, errors=errors, checkout_key=key, status=422
        )
    try:
        order, _created = await checkout(
            session,
            connect,
            settings=settings,
            actor=p.actor(),
            cart_id=cart_id,
            body=data,
            idempotency_key=key,
        )
    except AppError as exc:
        if exc.retryable:  # Temporal down: a 503 page with Retry-After, nothing changed
            raise
        return redirect(f"/carts/{cart_id}", flash=f"Not ordered: {exc.detail}")
    return redirect(
        f"/orders/{order.id}",
        flash=f"Order #{order.id} placed. {order.email} gets an e-mail with a link to pay by card.",
    )
