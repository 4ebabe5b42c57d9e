"""Helpers every staff page uses: render with the principal and CSRF token, parse forms."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from api.deps import get_settings, get_templates
from backroom.auth.principal import Principal
from backroom.money import FORM

M = TypeVar("M", bound=BaseModel)


def render(
    request: Request, template: str, principal: Principal | None = None, status: int = 200, **context: Any
) -> Response:
    """Render a page with the signed-in user, their CSRF token and the staff menu."""
    templates = get_templates(request)
    ctx = {
        "p": principal,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "settings": get_settings(request),
        "flash": request.query_params.get("flash"),
        **context,
    }
    return templates.TemplateResponse(request, template, ctx, status_code=status)


def redirect(url: str, flash: str | None = None) -> RedirectResponse:
    if flash:
        from urllib.parse import quote

        url += ("&" if "?" in url else "?") + "flash=" + quote(flash)
    return RedirectResponse(url, status_code=303)


async def parse_form(request: Request, model: type[M]) -> tuple[M | None, dict[str, str], dict[str, Any]]:
    """Validate a submitted form against a Pydantic model. Returns (model or None, errors by
    field, raw values) so the page can re-render with the user's input and the messages."""
    form = await request.form()
    raw = {k: v for k, v in form.items() if k != "csrf_token" and isinstance(v, str)}
    data = {k: (v if v != "" else None) for k, v in raw.items()}
    try:
        return model.model_validate(data, context={FORM: True}), {}, raw
    except ValidationError as exc:
        errors = {}
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "form"
            errors.setdefault(field, err["msg"].removeprefix("Value error, "))
        return None, errors, raw
