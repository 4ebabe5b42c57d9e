"""The customer-facing storefront under /shop (PUBLIC): products, cart, checkout, order status.

No staff sign-in here: an anonymous cart is keyed by the `shop_sid` cookie, which also serves
as the double-submit CSRF token of the shop's forms."""

from __future__ import annotations

import secrets
import uuid

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.deps import PUBLIC, READS_FIRST, READS_ONLY, Session, SettingsDep, TemporalFactory
from api.security import csp_with_stripe
from api.ui.common import keep_visitor_token, redirect, render, visitor_form
from api.validation import messages, summary
from backroom.audit.context import Actor
from backroom.branches import service as branches
from backroom.carts import service as carts
from backroom.carts.schemas import MAX_KEY, CartItem, CartQty, ProductId
from backroom.catalog import service as catalog
from backroom.catalog.schemas import ProductFilter
from backroom.errors import AppError, InvalidInput, WorkflowServiceUnavailable
from backroom.loyalty import service as loyalty
from backroom.orders import card_entry, tracking_events
from backroom.orders import service as orders
from backroom.orders.checkout import checkout, try_again
from backroom.orders.models import OrderStatus
from backroom.orders.schemas import CheckoutRequest
from backroom.payments.gateway import PaymentStatus
from backroom.settings import Settings

router = APIRouter(prefix="/shop", dependencies=[PUBLIC], include_in_schema=False)
COOKIE = "shop_sid"
SHOP = Actor.system("storefront")
S = OrderStatus
# What the customer sees for each order status.
CUSTOMER_STATUS = {
    S.PLACED: "Order received",
    S.AWAITING_PAYMENT: "Waiting for your payment",
    S.AWAITING_AUTHENTICATION: "Waiting for you to confirm the payment",
    S.PAYMENT_AUTHORIZED: "Payment authorized",
    S.REVIEW: "Being reviewed",
    S.PICKING: "Being prepared",
    S.PACKED: "Packed",
    S.LABEL_PURCHASED: "Ready to ship",
    S.SHIPPED: "Shipped",
    S.DELIVERED: "Delivered",
    S.COMPLETED: "Delivered",
    S.CANCELLED: "Cancelled",
    S.PAYMENT_FAILED: "Payment failed",
    S.REFUNDED: "Refunded",
    S.PARTIALLY_REFUNDED: "Partly refunded",
}


class AddForm(BaseModel):
    model_config = ConfigDict(extra="ignore")
    product_id: int = ProductId
    qty: int = Field(default=1, ge=1, le=99)
    key: str | None = Field(default=None, max_length=MAX_KEY)  # the form's idempotency key


class QtyForm(BaseModel):
    model_config = ConfigDict(extra="ignore")
    product_id: int = ProductId
    qty: int = Field(ge=0, le=99)
    key: str | None = Field(default=None, max_length=MAX_KEY)


def _sid(request: Request) -> str | None:
    return request.cookies.get(COOKIE)


def _with_cookie(request: Request, settings: Settings, response, sid: str):
    return keep_visitor_token(request, response, sid, cookie=COOKIE, path="/shop", max_age=30 * 86400)


async def _form(request: Request) -> dict:
    return await visitor_form(request, cookie=COOKIE)


def _valid(model, data: dict):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(summary(messages(exc, model))) from None


@router.get("")
async def products(session: Session, settings: SettingsDep, request: Request, category: str | None = None):
    """The shop window: active products with what is available now."""
    filt = ProductFilter(category=category or None, limit=200)
    page = await catalog.list_products(session, filt=filt)
    stock = await catalog.stock_of(session, [p.id for p in page.items])
    available = {pid: sum(s.on_hand - s.reserved for s in rows) for pid, rows in stock.items()}
    sid = _sid(request) or secrets.token_urlsafe(24)
    cart = await carts.open_cart_for(session, session_key=sid)
    resp = render(
        request,
        "shop/products.html",
        products=page.items,
        available=available,
        csrf_token=sid,
        cart=cart,
        category=category,
        form_key=uuid.uuid4().hex,  # each add form's idempotency key: this plus the product id
    )
    return _with_cookie(request, settings, resp, sid)


@router.post("/cart/add")
async def add_to_cart(session: Session, settings: SettingsDep, connect: TemporalFactory, request: Request):
    """Add to the session's cart (creating it on first use; its workflow starts here)."""
    data = _valid(AddForm, await _form(request))
    try:
        await carts.add_for_visitor(
            session,
            connect,
            actor=SHOP,
            session_key=_sid(request),
            item=CartItem(product_id=data.product_id, qty=data.qty, key=data.key),
            shop_branch_code=settings.shop_branch_code,
            currency=settings.default_currency,
            task_queue=settings.task_queue,
            prefix=settings.workflow_prefix,
        )
    except AppError as exc:  # e.g. sold out meanwhile: say so on the shop page, nothing changed
        if exc.retryable:  # Temporal down: a 503 page with Retry-After, nothing changed
            raise
        return redirect("/shop", flash=f"Not added: {exc.detail}")
    return redirect("/shop/cart", flash="Added to your cart.")


@router.post("/cart/update", dependencies=[READS_ONLY])
async def update_cart(session: Session, settings: SettingsDep, connect: TemporalFactory, request: Request):
    data = _valid(QtyForm, await _form(request))
    cart = await carts.open_cart_for(session, session_key=_sid(request))
    if cart is None:
        return redirect("/shop", flash="Your cart is empty.")
    try:
        await carts.change(
            session,
            connect,
            cart=cart,
            name="set_qty",
            arg=CartQty(product_id=data.product_id, qty=data.qty, key=data.key),
            task_queue=settings.task_queue,
            prefix=settings.workflow_prefix,
        )
    except AppError as exc:
        if exc.retryable:  # Temporal down: a 503 page with Retry-After, nothing changed
            raise
        return redirect("/shop/cart", flash=f"Not changed: {exc.detail}")
    return redirect("/shop/cart", flash="Cart updated.")


@router.get("/cart")
async def cart_page(session: Session, settings: SettingsDep, request: Request):
    """The cart with totals and the checkout form."""
    sid = _sid(request) or secrets.token_urlsafe(24)
    cart = await carts.open_cart_for(session, session_key=sid)
    lines = await carts.lines_of(session, cart.id) if cart else []
    view = None
    if cart and lines:  # discount codes and per-line discounts live in the cart's workflow
        try:
            client = await request.app.state.temporal.client()
            view = await carts.live_view(client, cart, prefix=settings.workflow_prefix)
        except WorkflowServiceUnavailable:
            view = None  # the page still shows the cart from the database
    resp = render(
        request,
        "shop/cart.html",
        cart=cart,
        view=view,
        lines=lines,
        csrf_token=sid,
        checkout_key=uuid.uuid4().hex,
        values={"ship_country": "US", **await carts.checkout_form_of_visitor(session, session_key=sid)},
        errors={},
    )
    return _with_cookie(request, settings, resp, sid)


@router.post("/checkout", dependencies=[READS_FIRST])
async def checkout_page(session: Session, settings: SettingsDep, connect: TemporalFactory, request: Request):
    """Place the order. The form's hidden checkout key is the Idempotency-Key, so a double
    click or a resubmitted form finds the same order."""
    raw = await _form(request)
    key = raw.pop("checkout_key", "")
    sid = _sid(request)
    done = await carts.order_of_visitor(session, checkout_key=key, session_key=sid)
    if done is not None:
        return redirect(f"/shop/orders/{done.token}")  # the same form sent twice: same order
    cart = await carts.open_cart_for(session, session_key=sid)
    if cart is None:
        return redirect("/shop", flash="Your cart is empty.")
    # The card is entered on the order page (Stripe.js), never chosen here: no payment method.
    data = {k: (v.strip() or None) for k, v in raw.items() if k not in ("csrf_token", "payment_method")}
    try:
        body = CheckoutRequest.model_validate(data)
    except ValidationError as exc:
        errors = messages(exc, CheckoutRequest)
        lines = await carts.lines_of(session, cart.id)
        return render(
            request,
            "shop/cart.html",
            status=422,
            cart=cart,
            lines=lines,
            csrf_token=sid,
            checkout_key=key,
            values=raw,
            errors=errors,
        )
    try:
        order, _ = await checkout(
            session,
            connect,
            settings=settings,
            actor=SHOP,
            cart_id=cart.id,
            body=body,
            idempotency_key=key,
        )
    except AppError as exc:
        if exc.retryable:  # Temporal down: a 503 page with Retry-After, nothing changed
            raise
        # Tell the customer on the cart page (e.g. the last unit just sold); nothing was ordered.
        return redirect("/shop/cart", flash=exc.detail)
    return redirect(f"/shop/orders/{order.token}")


@router.get("/orders/{token}")
async def order_status(session: Session, settings: SettingsDep, request: Request, token: str):
    """The customer's order page (the token in the link is the only key), with the card form
    while the order waits for its payment."""
    order = await orders.get_by_token(session, token)
    events = [e for e in await orders.events_of(session, order.id) if not e.kind.startswith("alert")]
    sid = _sid(request) or secrets.token_urlsafe(24)
    pay = await card_entry.payment_page(order, settings)
    resp = render(
        request,
        "shop/order.html",
        order=order,
        lines=await orders.lines_of(session, order.id),
        parcels=await orders.parcels_of(session, order.id),
        events=events,
        label=CUSTOMER_STATUS.get(order.status, order.status),
        csrf_token=sid,
        pay=pay,
        tracking_says=tracking_events.says,
        points=await loyalty.card_for_order(session, order),
        tz=(await branches.get_branch(session, order.branch_id)).timezone,  # the shop's local time
    )
    if pay is not None:  # the card form runs Stripe.js: its origin, and no other, is allowed
        resp.headers["Content-Security-Policy"] = csp_with_stripe(pay.js_url)
    return _with_cookie(request, settings, resp, sid)


FINAL = frozenset({S.COMPLETED, S.CANCELLED, S.PAYMENT_FAILED, S.REFUNDED})


@router.get("/orders/{token}/status")
async def order_progress(session: Session, token: str) -> dict:
    """Where the order stands, for its page to update itself (shop-order.js). Read-only."""
    order = await orders.get_by_token(session, token)
    return {
        "status": order.status,
        "label": CUSTOMER_STATUS.get(order.status, order.status),
        "final": order.status in FINAL,
    }


@router.post("/orders/{token}/again")
async def order_again(
    session: Session, settings: SettingsDep, connect: TemporalFactory, request: Request, token: str
):
    """The payment failed: the order's items and codes go back into this visitor's cart and the
    checkout form is filled in as before, to try another card. Pressing it twice adds nothing."""
    await _form(request)  # checks the form's token
    sid = _sid(request) or secrets.token_urlsafe(24)
    order = await orders.get_by_token(session, token)
    try:
        notes = await try_again(session, connect, settings=settings, order=order, session_key=sid)
    except AppError as exc:
        if exc.retryable:  # Temporal down: a 503 page with Retry-After, nothing changed
            raise
        return redirect(f"/shop/orders/{token}", flash=exc.detail)
    said = "Your items are back in your cart: check out again and use another card."
    resp = redirect("/shop/cart", flash=" ".join([said, *notes]))
    return _with_cookie(request, settings, resp, sid)


@router.post("/orders/{token}/payment")
async def payment_done(session: Session, settings: SettingsDep, request: Request, token: str):
    """Stripe.js confirmed the payment in the browser: ask Stripe, then tell the order's workflow."""
    await _form(request)  # checks the form's token
    order = await orders.get_by_token(session, token)
    result = await card_entry.card_confirmed(session, order=order, settings=settings)
    if result is None:
        return redirect(f"/shop/orders/{token}")
    if result.status is PaymentStatus.AUTHORIZED:
        return redirect(f"/shop/orders/{token}", flash="Thank you: your payment is authorized.")
    return redirect(f"/shop/orders/{token}", flash="The payment is not complete yet; enter your card again.")
