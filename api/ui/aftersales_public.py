"""The customer's after-sales pages (no account needed): the repair quote reached from the
signed link in the quote e-mail (approve or decline, sent to the case's workflow), and asking
for a return or repair from the storefront order page (the order's secret link)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import PUBLIC, Session, SettingsDep
from api.ui.common import keep_visitor_token, redirect, render, visitor_form, visitor_token
from api.ui.storefront import COOKIE as SHOP_COOKIE
from api.ui.storefront import _form as shop_form
from api.ui.storefront import _with_cookie
from backroom.aftersales import control
from backroom.aftersales import service as aftersales
from backroom.aftersales.flow import CaseAction
from backroom.aftersales.models import CaseState
from backroom.aftersales.schemas import CaseCreate
from backroom.audit.context import Actor
from backroom.errors import AppError, InvalidInput
from backroom.orders import service as orders

router = APIRouter(dependencies=[PUBLIC], include_in_schema=False)
STOREFRONT = Actor.system("storefront")
KINDS = {"repair": "Repair", "refund": "Return for a refund", "exchange": "Exchange for a new one"}


@router.get("/rma/quote/{token}")
async def quote_page(session: Session, request: Request, token: str, settings: SettingsDep):
    c = await aftersales.case_from_token(session, settings.session_secret(), token)
    csrf = visitor_token(request)
    resp = render(
        request,
        "aftersales/quote_public.html",
        None,
        case=await aftersales.detail(session, c),
        token=token,
        open=c.state == CaseState.QUOTE_SENT,
        csrf_token=csrf,
    )
    return keep_visitor_token(request, resp, csrf)


@router.post("/rma/quote/{token}")
async def quote_answer(session: Session, request: Request, token: str, settings: SettingsDep):
    form = await visitor_form(request)
    c = await aftersales.case_from_token(session, settings.session_secret(), token)
    approve = form.get("answer") == "approve"
    await session.commit()  # hold no transaction while the workflow's activities write
    try:
        await control.send_step(
            await request.app.state.temporal.client(),
            c,
            CaseAction(
                action="quote_approve" if approve else "quote_decline", user_name="the customer (quote link)"
            ),
        )
        flash = (
            "Thank you: we start the repair."
            if approve
            else "Thank you: we will return your item unrepaired."
        )
    except AppError as exc:
        flash = exc.detail
    return redirect(f"/rma/quote/{token}", flash=flash)


async def _order_page(
    session, request, token: str, *, status: int = 200, error: str | None = None, values=None
):
    order = await orders.get_by_token(session, token)
    lines = await orders.lines_of(session, order.id)
    cases = await aftersales.reads(
        session, await aftersales.queue(session, branch_ids=None, order_id=order.id, include_closed=True)
    )
    sid = visitor_token(request, SHOP_COOKIE)
    resp = render(
        request,
        "aftersales/shop_request.html",
        None,
        status=status,
        order=order,
        lines=lines,
        cases=cases,
        kinds=KINDS,
        error=error,
        values=values or {},
        csrf_token=sid,
    )
    return _with_cookie(request, request.app.state.settings, resp, sid)


@router.get("/shop/orders/{token}/aftersales")
async def request_page(session: Session, request: Request, token: str):
    return await _order_page(session, request, token)


@router.post("/shop/orders/{token}/aftersales")
async def request_submit(session: Session, request: Request, token: str, settings: SettingsDep):
    """The customer asks for a repair, a return or an exchange of one line of their order."""
    form = await shop_form(request)
    order = await orders.get_by_token(session, token)
    values = {k: form.get(k) or "" for k in ("order_line_id", "kind", "reason")}
    try:
        if order.customer_id is None:
            raise InvalidInput("We need to know who you are first: please contact us or visit a shop.")
        line_id = int(values["order_line_id"]) if values["order_line_id"].isdigit() else 0
        if line_id not in {ln.id for ln in await orders.lines_of(session, order.id)}:
            raise InvalidInput("Choose the item of this order.", field="order_line_id")
        if values["kind"] not in KINDS or not values["reason"].strip():
            raise InvalidInput("Choose what you need and tell us what is wrong.", field="reason")
        c = await aftersales.open_case(
            session,
            actor=STOREFRONT,
            data=CaseCreate(
                kind=values["kind"],
                reason=values["reason"].strip()[:4000],
                order_line_id=line_id,
                customer_id=order.customer_id,
            ),
            settings=settings,
            via="storefront",
        )
    except AppError as exc:
        return await _order_page(session, request, token, status=422, error=exc.detail, values=values)
    return redirect(
        f"/shop/orders/{token}/aftersales", flash=f"Request #{c.id} received: we will e-mail you."
    )
