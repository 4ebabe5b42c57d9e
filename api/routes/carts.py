"""Carts API (staff placing orders for customers) and checkout with an Idempotency-Key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Session, require
from backroom.auth.principal import Principal
from backroom.carts import service as carts
from backroom.carts.schemas import CartCode, CartCreate, CartItem, CartQty, CartRemove, CartView
from backroom.customers.models import Customer
from backroom.errors import InvalidInput, not_found
from backroom.orders.checkout import checkout, end_transaction, shop_branch
from backroom.orders.schemas import CheckoutRequest, OrderRead

router = APIRouter(prefix="/api/v1/carts", tags=["carts"])


class CartListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str | None = Field(default=None, max_length=16)
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = None


class QtyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    qty: int = Field(ge=0, le=999)


def cart_json(cart, lines) -> dict:
    return {
        "id": cart.id,
        "status": cart.status,
        "branch_id": cart.branch_id,
        "customer_id": cart.customer_id,
        "currency": cart.currency,
        "item_count": cart.item_count,
        "subtotal_minor": cart.subtotal_minor,
        "discount_minor": cart.discount_minor,
        "tax_minor": cart.tax_minor,
        "shipping_minor": cart.shipping_minor,
        "total_minor": cart.total_minor,
        "order_id": cart.order_id,
        "lines": [
            {
                "product_id": ln.product_id,
                "sku": ln.sku,
                "name": ln.name,
                "qty": ln.qty,
                "unit_price_minor": ln.unit_price_minor,
                "line_total_minor": ln.line_total_minor,
            }
            for ln in lines
        ],
    }


async def _cart(session, p: Principal, cart_id: int, action: str):
    cart = await carts.get_cart(session, cart_id)
    p.require("carts", action, branch_id=cart.branch_id)
    return cart


async def _send(request: Request, session: AsyncSession, cart, name: str, arg) -> CartView:
    await end_transaction(session)
    s = request.app.state.settings
    client = await request.app.state.temporal.client()
    return await carts.send(client, cart, name, arg, task_queue=s.task_queue, prefix=s.workflow_prefix)


@router.post("", status_code=201)
async def create_cart(
    session: Session, request: Request, body: CartCreate, p: Principal = require("carts", "create")
):
    """A new empty cart for a customer (its workflow starts with the first item)."""
    settings = request.app.state.settings
    if await session.get(Customer, body.customer_id) is None:
        raise not_found("Customer", body.customer_id)
    branch_id = body.branch_id or (await shop_branch(session, settings)).id
    p.require("carts", "create", branch_id=branch_id)
    cart = await carts.create_cart(
        session,
        actor=p.actor(),
        branch_id=branch_id,
        currency=settings.default_currency,
        customer_id=body.customer_id,
    )
    return cart_json(cart, [])


@router.get("")
async def list_carts(
    session: Session, q: Annotated[CartListQuery, Query()], p: Principal = require("carts", "list")
):
    page = await carts.list_carts(
        session, branch_ids=p.branch_ids("carts", "list"), status=q.status, limit=q.limit, cursor=q.cursor
    )
    return {"items": [cart_json(c, []) for c in page.items], "next_cursor": page.next_cursor}


@router.get("/{cart_id}")
async def get_cart(session: Session, cart_id: int, p: Principal = require("carts", "read")):
    cart = await _cart(session, p, cart_id, "read")
    return cart_json(cart, await carts.lines_of(session, cart_id))


@router.post("/{cart_id}/items")
async def add_item(
    session: Session,
    request: Request,
    cart_id: int,
    body: CartItem,
    p: Principal = require("carts", "update"),
) -> CartView:
    """Add units; the cart workflow re-prices and checks stock (409 when it refuses)."""
    cart = await _cart(session, p, cart_id, "update")
    return await _send(request, session, cart, "add", body)


@router.patch("/{cart_id}/items/{product_id}")
async def set_qty(
    session: Session,
    request: Request,
    cart_id: int,
    product_id: int,
    body: QtyBody,
    p: Principal = require("carts", "update"),
) -> CartView:
    cart = await _cart(session, p, cart_id, "update")
    return await _send(request, session, cart, "set_qty", CartQty(product_id=product_id, qty=body.qty))


@router.delete("/{cart_id}/items/{product_id}")
async def remove_item(
    session: Session,
    request: Request,
    cart_id: int,
    product_id: int,
    p: Principal = require("carts", "update"),
) -> CartView:
    cart = await _cart(session, p, cart_id, "update")
    return await _send(request, session, cart, "remove", CartRemove(product_id=product_id))


@router.post("/{cart_id}/codes")
async def apply_code(
    session: Session,
    request: Request,
    cart_id: int,
    body: CartCode,
    p: Principal = require("carts", "update"),
) -> CartView:
    """Enter a discount code: the cart is re-priced with it, or 409 (code_refused) says why
    it does not apply."""
    cart = await _cart(session, p, cart_id, "update")
    return await _send(request, session, cart, "apply_code", body)


@router.delete("/{cart_id}/codes/{code}")
async def remove_code(
    session: Session,
    request: Request,
    cart_id: int,
    code: str,
    p: Principal = require("carts", "update"),
) -> CartView:
    try:
        body = CartCode(code=code)
    except ValidationError:
        raise InvalidInput("That is not a discount code.", field="code") from None
    cart = await _cart(session, p, cart_id, "update")
    return await _send(request, session, cart, "remove_code", body)


@router.post("/{cart_id}/checkout")
async def checkout_cart(
    session: Session,
    request: Request,
    cart_id: int,
    body: CheckoutRequest,
    idempotency_key: str = Header(..., alias="Idempotency-Key", min_length=8, max_length=128),
    p: Principal = require("orders", "create"),
):
    """Place the order: 201 the first time, 200 with the same order for a retry with the same key,
    409 for the same key with a different body or when stock ran out."""
    cart = await carts.get_cart(session, cart_id)
    p.require("orders", "create", branch_id=cart.branch_id)
    client = await request.app.state.temporal.client()
    order, created = await checkout(
        session,
        client=client,
        sessionmaker=request.app.state.sessionmaker,
        settings=request.app.state.settings,
        actor=p.actor(),
        cart_id=cart_id,
        body=body,
        idempotency_key=idempotency_key,
    )
    return JSONResponse(
        OrderRead.model_validate(order).model_dump(mode="json"), status_code=201 if created else 200
    )
