"""Helpers every staff page uses: render with the principal and CSRF token, parse forms."""

from __future__ import annotations

import asyncio
import secrets
from decimal import Decimal
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import get_settings, get_templates
from api.validation import form_values, messages, summary
from backroom.auth.principal import Principal
from backroom.branches.models import Branch
from backroom.branches.service import list_branches
from backroom.errors import Forbidden, InvalidInput
from backroom.money import FORM, exponent, parse_money
from backroom.orders import control, repository
from backroom.orders.control import WarehouseStep
from backroom.orders.models import Order, Parcel
from backroom.settings import Settings
from backroom.temporal import Connect

M = TypeVar("M", bound=BaseModel)
# The double-submit CSRF cookie of the pages a visitor reaches without signing in (a link in an
# e-mail): the form echoes the cookie's value, which another site can neither read nor set.
FORM_COOKIE = "backroom_form"
# Fields every form carries that are not the form's data (api/deps.py, api/once.py read them).
NOT_DATA = frozenset({"csrf_token", "submission_key", "checkout_key"})  # form plumbing, not data


def render(
    request: Request, template: str, principal: Principal | None = None, status: int = 200, **context: Any
) -> Response:
    """Render a page with the signed-in user, their CSRF token and the staff menu."""
    templates = get_templates(request)
    ctx = {
        "p": principal,
        "tz": principal.timezone if principal else None,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "settings": get_settings(request),
        "flash": request.query_params.get("flash"),
        **context,
    }
    return templates.TemplateResponse(request, template, ctx, status_code=status)


async def pdf_page(request: Request, template: str, filename: str, **context: Any) -> Response:
    """A template rendered to an A4 PDF (WeasyPrint, off the event loop), as a download."""
    from backroom.analytics import pdf

    html = get_templates(request).get_template(template).render(**context)
    content = await asyncio.to_thread(pdf.render, html)
    name = filename.replace('"', "")
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def redirect(url: str, flash: str | None = None) -> RedirectResponse:
    if flash:
        from urllib.parse import quote

        url += ("&" if "?" in url else "?") + "flash=" + quote(flash)
    return RedirectResponse(url, status_code=303)


async def parse_form(
    request: Request, model: type[M], *, currency: str | None = None
) -> tuple[M | None, dict[str, str], dict[str, Any]]:
    """Validate a submitted form against a Pydantic model. Returns (model or None, errors by
    field in words (api/validation.py), raw values) so the page can re-render with the user's
    input and the messages. A blank optional field is left out (its default applies).
    People type money and rates as they read them: a box named `price` fills the model's
    `price_minor` from "12.50" in the form's `currency` box (else `currency`), and `tax_rate`
    fills `tax_rate_bp` from a percentage ("8.25")."""
    form = await request.form()
    raw = {k: v for k, v in form.items() if k not in NOT_DATA and isinstance(v, str)}
    values, errors, renamed = form_values(model, raw), {}, {}
    default = model.model_fields["currency"].default if "currency" in model.model_fields else None
    currency = raw.get("currency", "").strip() or currency or (default if isinstance(default, str) else None)
    for key, text in raw.items():
        if key in model.model_fields:
            continue
        for suffix, parse in (("_minor", _money(currency)), ("_bp", _percent)):
            if key + suffix in model.model_fields:
                values.pop(key, None)
                renamed[key + suffix] = key
                try:
                    if text.strip():  # blank: the model's default (or "missing")
                        values[key + suffix] = parse(text)
                except ValueError as exc:
                    errors[key] = str(exc)
    if errors:
        return None, errors, raw
    try:
        return model.model_validate(values, context={FORM: True}), {}, raw
    except ValidationError as exc:
        return None, messages(exc, model, fields=renamed), raw


def _money(currency: str | None):
    def parse(text: str) -> int:
        if not currency:
            raise ValueError("Choose the currency first")
        try:
            return parse_money(text, currency)
        except ValueError:
            raise ValueError(f"Enter an amount in {currency.upper()} such as 12.50") from None

    return parse


def _percent(text: str) -> int:
    """'8.25' (per cent) -> 825 basis points."""
    try:
        value = Decimal(text.replace("%", "").strip()) * 100
    except ArithmeticError:
        value = Decimal("NaN")
    if not value.is_finite() or value != value.to_integral_value():
        raise ValueError("Enter a percentage such as 8.25")
    return int(value)


def form_amount(amount_minor: int | None, currency: str) -> str:
    """An amount as a form box shows it for editing: 1250 USD -> "12.50" (no separators)."""
    return "" if amount_minor is None else f"{Decimal(amount_minor).scaleb(-exponent(currency)):f}"


def form_percent(bp: int | None) -> str:
    """A rate in basis points as a form box shows it: 825 -> "8.25"."""
    return "" if bp is None else f"{Decimal(bp).scaleb(-2):f}"


async def packing_slip_pdf(request: Request, session: AsyncSession, parcel: Parcel) -> Response:
    """The slip that goes in the box (the warehouse's and a vendor's own parcels): order number,
    ship-to, what is in this parcel (no prices), "parcel n of m". The caller authorized it."""
    order = await session.get(Order, parcel.order_id)
    ids = list(
        await session.scalars(select(Parcel.id).where(Parcel.order_id == order.id).order_by(Parcel.id))
    )
    return await pdf_page(
        request,
        "commerce/packing_slip_pdf.html",
        f"packing-slip-{order.id}-{parcel.id}.pdf",
        order=order,
        parcel=parcel,
        number=ids.index(parcel.id) + 1,
        count=len(ids),
        lines=(await repository.parcel_lines(session, [parcel.id])).get(parcel.id, []),
        branch=(await repository.branch_names(session, [parcel.branch_id])).get(parcel.branch_id, ""),
    )


async def parcel_step(
    request: Request,
    session: AsyncSession,
    connect: Connect,
    settings: Settings,
    *,
    p: Principal,
    order_id: int,
    parcel_id: int,
    step: WarehouseStep,
) -> None:
    """A parcel step button of the warehouse or the vendor panel (api/templates/macros.html
    `parcel_steps`): the pack form's serial numbers (fields `serial-{line id}`, one per unit),
    then the one use case (`orders.control.parcel_step`)."""
    given = None
    if step == WarehouseStep.PACK:
        form = await request.form()
        given = {
            int(k.removeprefix("serial-")): [str(v)[:100] for v in form.getlist(k)]
            for k in form
            if k.startswith("serial-") and k.removeprefix("serial-").isdigit()
        }
    await control.parcel_step(
        session,
        connect,
        p=p,
        order_id=order_id,
        parcel_id=parcel_id,
        step=step,
        prefix=settings.workflow_prefix,
        serials=given,
    )


async def branch_choices(session: AsyncSession, p: Principal, function: str, action: str) -> list[Branch]:
    """The branches a form's branch picker offers: those where the user may do what the form
    does (the enforcer the route asks), by name."""
    allowed = p.branch_ids(function, action)
    return [b for b in await list_branches(session) if allowed is None or b.id in allowed]


def visitor_token(request: Request, cookie: str = FORM_COOKIE) -> str:
    """The visitor's CSRF token: the cookie's value, or a new one to set with keep_visitor_token."""
    return request.cookies.get(cookie) or secrets.token_urlsafe(24)


def keep_visitor_token(
    request: Request,
    response: Response,
    token: str,
    *,
    cookie: str = FORM_COOKIE,
    path: str = "/",
    samesite: str = "lax",
    **kw,
) -> Response:
    """Set the visitor's token cookie on `response` if the browser does not hold it yet."""
    if request.cookies.get(cookie) != token:
        secure = get_settings(request).cookie_secure
        response.set_cookie(cookie, token, httponly=True, samesite=samesite, secure=secure, path=path, **kw)
    return response


def visitor_token_ok(request: Request, form, cookie: str = FORM_COOKIE) -> bool:
    """The form's csrf_token equals the visitor's cookie (double submit)."""
    expected = request.cookies.get(cookie)
    return bool(expected) and secrets.compare_digest(str(form.get("csrf_token", "")), expected)


async def visitor_form(request: Request, cookie: str = FORM_COOKIE) -> dict[str, str]:
    """The submitted form of a visitor's page, after checking its token against the cookie
    (403 otherwise: the form came from elsewhere or the page is too old)."""
    form = await request.form()
    if not visitor_token_ok(request, form, cookie):
        raise Forbidden("The page expired. Reload it and try again.")
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "submission_key"}


def parse_filter(request: Request, model: type[M]) -> M:
    """A list page's filters from its query string (blank ones left out); a bad value is a 422
    that says which filter and why, in words."""
    given = {k: v for k, v in request.query_params.items() if v.strip() and k in model.model_fields}
    try:
        return model.model_validate(given)
    except ValidationError as exc:
        raise InvalidInput("Check the filter: " + summary(messages(exc, model))) from None
