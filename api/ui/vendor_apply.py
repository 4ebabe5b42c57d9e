"""The storefront's "Sell with us" page: a would-be vendor applies without an account. The
application is the staff form's, and goes through the same approval gate: a manager of the
storefront's branch decides in the inbox, and the applicant hears the outcome by e-mail."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import PUBLIC, Session, SettingsDep
from api.ui.common import keep_visitor_token, redirect, render, visitor_form, visitor_token
from api.ui.vendors import application
from backroom.audit.context import Actor
from backroom.branches.service import shop_branch
from backroom.notifications import service as notify
from backroom.vendors import service as vendors

router = APIRouter(prefix="/shop/sell", dependencies=[PUBLIC], include_in_schema=False)
APPLICANT = Actor.system("storefront")
THANKS = "Thank you: we received your application and answer by e-mail within a few days."
# A field people do not see: robots fill in every input, so an application with it is dropped.
TRAP = "website"


def _page(request: Request, *, values: dict, errors: dict, status: int = 200):
    csrf = visitor_token(request)
    resp = render(
        request, "shop/sell.html", None, status=status, values=values, errors=errors, csrf_token=csrf
    )
    return keep_visitor_token(request, resp, csrf)


@router.get("")
async def sell_page(request: Request):
    return _page(request, values={"payout_method": "stripe"}, errors={})


@router.post("")
async def send_application(session: Session, settings: SettingsDep, request: Request):
    """Record the application (not idempotent by itself: the form's one-time key and the
    unique vendor name stop a repeat)."""
    form = await visitor_form(request)
    if form.get(TRAP):
        return redirect("/shop/sell", flash=THANKS)
    raw = {k: v for k, v in form.items() if k not in ("csrf_token", TRAP, "branch_id")}
    body, errors = application(raw)
    if body is None:
        return _page(request, values=raw, errors=errors, status=422)
    branch = await shop_branch(session, code=settings.shop_branch_code)
    vendor = await vendors.apply(
        session, actor=APPLICANT, data=body, branch_id=branch.id, prefix=settings.workflow_prefix
    )
    await notify.enqueue(
        session,
        kind="vendor.application",
        to_address=str(body.contact_email),
        branch_id=branch.id,
        subject=f"Your application to sell as {vendor.name}",
        body=f"Dear {body.contact_name},\n\nwe received the application of {vendor.name}"
        f" ({vendor.legal_name}). A manager reviews it and we write to you with the outcome.",
        dedupe_key=f"vendor-{vendor.id}:applied",
    )
    return redirect("/shop/sell", flash=THANKS)
