"""Carts API (staff placing orders for customers) and checkout with an Idempotency-Key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response
from pydantic import ValidationError

from api.deps import READS_FIRST, READS_ONLY, Session, SettingsDep, TemporalFactory, require
from api.params import ChangeKey, Id
from backroom.auth.principal import Principal
from backroom.carts import service as carts
from backroom.carts.models import Cart
from backroom.carts.schemas import (
    RAW_CODE,
    CartCode,
    CartCreate,
    CartFilter,
    CartItem,
    CartQty,
    CartQtyIn,
    CartRead,
    CartRemove,
    CartView,
)
from backroom.errors import InvalidInput
from backroom.orders.checkout import checkout
from backroom.orders.schemas import CheckoutRequest, OrderRead
from backroom.pagination import PageRead

router = APIRouter(prefix="/api/v1/carts", tags=["carts"])


async def _cart(session, p: Principal, cart_id: int, action: str) -> Cart:
    cart = await carts.get_cart(session, cart_id)
    p.require("carts", action, branch_id=cart.branch_id)
    return cart


@router.post("", status_code=201)
async def create_cart(
    session: Session, settings: SettingsDep, body: CartCreate, p: Principal = require("carts", "create")
) -> CartRead:
    """A new empty cart for a customer (its workflow starts with the first item)."""
    branch_id = await carts.selling_branch(
        session, branch_id=body.branch_id, shop_branch_code=settings.shop_branch_code
    )
    p.require("carts", "create", branch_id=branch_id)
    cart = await carts.create_cart(
        session,
        actor=p.actor(),
        branch_id=branch_id,
        currency=settings.default_currency,
        customer_id=body.customer_id,
    )
    return await carts.cart_read(session, cart, with_lines=False)


@router.get("")
async def list_carts(
    session: Session, q: Annotated[CartFilter, Query()], p: Principal = require("carts", "list")
) -> PageRead[CartRead]:
    page = await carts.list_carts(
        session, branch_ids=p.branch_ids("carts", "list"), status=q.status, limit=q.limit, cursor=q.cursor
    )
    return PageRead[CartRead].of(page, CartRead)


@router.get("/{cart_id:id}")
async def get_cart(session: Session, cart_id: Id, p: Principal = require("carts", "read")) -> CartRead:
    return await carts.cart_read(session, await _cart(session, p, cart_id, "read"))


@router.post("/{cart_id:id}/items", dependencies=[READS_ONLY])
async def add_item(
    session: Session,
    settings: SettingsDep,
    connect: TemporalFactory,
    cart_id: Id,
    body: CartItem,
    key: ChangeKey = None,
    p: Principal = require("carts", "update"),
) -> CartView:
    """Add units; the cart workflow re-prices and checks stock (409 when it refuses). A retry
    with the same Idempotency-Key adds nothing more."""
    cart = await _cart(session, p, cart_id, "update")
    return await carts.change(
        session,
        connect,
        cart=cart,
        name="add",
        arg=body.model_copy(update={"key": key}),
        task_queue=settings.task_queue,
        prefix=settings.workflow_prefix,
    )


@router.patch("/{cart_id:id}/items/{product_id:id}", dependencies=[READS_ONLY])
async def set_qty(
    session: Session,
    settings: SettingsDep,
    connect: TemporalFactory,
    cart_id: Id,
    product_id: Id,
    body: CartQtyIn,
    key: ChangeKey = None,
    p: Principal = require("carts", "update"),
) -> CartView:
    cart = await _cart(session, p, cart_id, "update")
    change = CartQty(product_id=product_id, qty=body.qty, key=key)
    return await carts.change(
        session,
        connect,
        cart=cart,
        name="set_qty",
        arg=change,
        task_queue=settings.task_queue,
        prefix=settings.workflow_prefix,
    )


@router.delete("/{cart_id:id}/items/{product_id:id}", dependencies=[READS_ONLY])
async def remove_item(
    session: Session,
    settings: SettingsDep,
    connect: TemporalFactory,
    cart_id: Id,
    product_id: Id,
    key: ChangeKey = None,
    p: Principal = require("carts", "update"),
) -> CartView:
    cart = await _cart(session, p, cart_id, "update")
    return await carts.change(
        session,
        connect,
        cart=cart,
        name="remove",
        arg=CartRemove(product_id=product_id, key=key),
        task_queue=settings.task_queue,
        prefix=settings.workflow_prefix,
    )


@router.post("/{cart_id:id}/codes", dependencies=[READS_ONLY])
async def apply_code(
    session: Session,
    settings: SettingsDep,
    connect: TemporalFactory,
    cart_id: Id,
    body: CartCode,
    key: ChangeKey = None,
    p: Principal = require("carts", "update"),
) -> CartView:
    """Enter a discount code: the cart is re-priced with it, or 409 (code_refused) says why
    it does not apply."""
    cart = await _cart(session, p, cart_id, "update")
    return await carts.change(
        session,
        connect,
        cart=cart,
        name="apply_code",
        arg=body.model_copy(update={"key": key}),
        task_queue=settings.task_queue,
        prefix=settings.workflow_prefix,
    )


@router.delete("/{cart_id:id}/codes/{code}", dependencies=[READS_ONLY])
async def remove_code(
    session: Session,
    settings: SettingsDep,
    connect: TemporalFactory,
    cart_id: Id,
    code: Annotated[str, Path(max_length=40, json_schema_extra={"pattern": RAW_CODE})],
    key: ChangeKey = None,
    p: Principal = require("carts", "update"),
) -> CartView:
    try:
        body = CartCode(code=code, key=key)
    except ValidationError:
        raise InvalidInput("That is not a discount code.", field="code") from None
    cart = await _cart(session, p, cart_id, "update")
    return await carts.change(
        session,
        connect,
        cart=cart,
        name="remove_code",
        arg=body,
        task_queue=settings.task_queue,
        prefix=settings.workflow_prefix,
    )


@router.post(
    "/{cart_id:id}/checkout",
    status_code=201,
    responses={200: {"model": OrderRead}},
    dependencies=[READS_FIRST],
)
async def checkout_cart(
    session: Session,
    settings: SettingsDep,
    connect: TemporalFactory,
    response: Response,
    cart_id: Id,
    body: CheckoutRequest,
    idempotency_key: str = Header(..., alias="Idempotency-Key", min_length=8, max_length=128),
    p: Principal = require("orders", "create"),
) -> OrderRead:
    """Place the order: 201 the first time, 200 with the same order for a retry with the same key,
    409 for the same key with a different body or when stock ran out."""
    cart = await carts.get_cart(session, cart_id)
    p.require("orders", "create", branch_id=cart.branch_id)
    order, created = await checkout(
        session,
        connect,
        settings=settings,
        actor=p.actor(),
        cart_id=cart_id,
        body=body,
        idempotency_key=idempotency_key,
    )
    if not created:
        response.status_code = 200
    return OrderRead.model_validate(order)
