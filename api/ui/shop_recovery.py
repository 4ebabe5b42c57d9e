"""Storefront pages for coupons and abandoned-cart recovery (PUBLIC, under /shop): enter or
remove a discount code, restore a cart from an e-mail link (on any device, also after it
expired), unsubscribe from cart reminders. The shop's cookie and CSRF rules are the
storefront's (api/ui/storefront.py)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request

from api.deps import PUBLIC, READS_ONLY, Session, SettingsDep, TemporalFactory
from api.ui.common import redirect, render
from api.ui.storefront import SHOP, _form, _sid, _valid, _with_cookie
from backroom.carts import service as carts
from backroom.carts.schemas import CartCode, CartItem
from backroom.db.session import end_read
from backroom.errors import AppError
from backroom.recovery import service as recovery

router = APIRouter(prefix="/shop", dependencies=[PUBLIC], include_in_schema=False)


async def _code_change(session, settings, connect, request: Request, update: str, done: str):
    data = _valid(CartCode, {"code": (await _form(request)).get("code", "")})
    cart = await carts.open_cart_for(session, session_key=_sid(request))
    if cart is None:
        return redirect("/shop", flash="Your cart is empty.")
    try:
        await carts.change(
            session,
            connect,
            cart=cart,
            name=update,
            arg=data,
            task_queue=settings.task_queue,
            prefix=settings.workflow_prefix,
        )
    except AppError as exc:  # the reason the code does not apply, in the customer's words
        if exc.retryable:  # Temporal down: a 503 page with Retry-After, nothing changed
            raise
        return redirect("/shop/cart", flash=exc.detail)
    return redirect("/shop/cart", flash=done.format(code=data.code))


@router.post("/cart/code", dependencies=[READS_ONLY])
async def apply_code(session: Session, settings: SettingsDep, connect: TemporalFactory, request: Request):
    """Enter a discount code; the cart is re-priced with it or the page says why not."""
    return await _code_change(session, settings, connect, request, "apply_code", "Code {code} applied.")


@router.post("/cart/code/remove", dependencies=[READS_ONLY])
async def remove_code(session: Session, settings: SettingsDep, connect: TemporalFactory, request: Request):
    return await _code_change(session, settings, connect, request, "remove_code", "Code {code} removed.")


@router.get("/restore/{token}")
async def restore(
    session: Session, settings: SettingsDep, connect: TemporalFactory, request: Request, token: str
):
    """The link in a reminder: this browser carries on with the cart; an expired cart comes
    back as a new one with the same items (those still in stock)."""
    sid = _sid(request) or secrets.token_urlsafe(24)
    plan = await recovery.restore(
        session, actor=SHOP, secret=settings.session_secret(), token=token, session_key=sid
    )
    # By hand: the new cart's workflow writes its projection into the row from its own
    # transaction, so the row is committed first (on SQLite, releasing the one write lock).
    await session.commit()
    await end_read(session)
    missing = []
    for product_id, qty in plan.items.items():
        try:
            await carts.change(
                session,
                connect,
                cart=plan.cart,
                name="add",
                arg=CartItem(product_id=product_id, qty=qty, key=f"restore-{plan.cart.id}-{product_id}"),
                task_queue=settings.task_queue,
                prefix=settings.workflow_prefix,
            )
        except AppError as exc:
            if exc.retryable:  # Temporal down: a 503 page with Retry-After, nothing changed
                raise
            missing.append(exc.detail)
    flash = "Welcome back: here is your cart."
    if missing:
        flash += " Some items could not come back: " + "; ".join(missing)
    resp = redirect("/shop/cart", flash=flash)
    return _with_cookie(request, settings, resp, plan.cart.session_key)


@router.get("/unsubscribe/{token}")
async def unsubscribe_page(session: Session, settings: SettingsDep, request: Request, token: str):
    """Asks before unsubscribing (mail scanners open links; only the button acts)."""
    await recovery.cart_for_link(session, secret=settings.session_secret(), token=token, unsubscribe=True)
    sid = _sid(request) or secrets.token_urlsafe(24)
    resp = render(request, "shop/unsubscribe.html", token=token, csrf_token=sid, done=False)
    return _with_cookie(request, settings, resp, sid)


@router.post("/unsubscribe/{token}")
async def unsubscribe(session: Session, settings: SettingsDep, request: Request, token: str):
    await _form(request)
    await recovery.unsubscribe(
        session, actor=SHOP, secret=settings.session_secret(), token=token, prefix=settings.workflow_prefix
    )
    return render(request, "shop/unsubscribe.html", token=token, csrf_token=_sid(request), done=True)
