"""Your own account: API tokens (create, the secret shown once; list; revoke), your password
and the time zone you see times in.

Permission ("dashboard", "read"): the baseline every staff role holds; see api/routes/tokens.py."""

from __future__ import annotations

from zoneinfo import available_timezones

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Session, require
from api.params import Id
from api.ui.common import parse_form, redirect, render
from backroom.auth import service as auth
from backroom.auth.principal import Principal
from backroom.auth.schemas import TokenCreate
from backroom.db.base import utcnow
from backroom.errors import InvalidInput

router = APIRouter(include_in_schema=False)
NAV = [
    ("API tokens", "/account/tokens", ("dashboard", "read"), 95),
    ("Password", "/account/password", ("dashboard", "read"), 96),
    ("Time zone", "/account/timezone", ("dashboard", "read"), 97),
]
# The zones offered: every IANA zone this machine knows, by name.
ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current: str = Field(max_length=200)
    new: str = Field(max_length=200)


async def _page(request: Request, p: Principal, session: AsyncSession, *, status: int = 200, **ctx):
    tokens = await auth.list_tokens(session, user_id=p.user_id)
    ctx.setdefault("values", {})
    ctx.setdefault("errors", {})
    return render(request, "tokens.html", p, status=status, tokens=tokens, now=utcnow(), **ctx)


@router.get("/account/tokens")
async def tokens_page(session: Session, request: Request, p: Principal = require("dashboard", "read")):
    return await _page(request, p, session)


@router.post("/account/tokens")
async def create_token(session: Session, request: Request, p: Principal = require("dashboard", "read")):
    """Create a token and show its secret this once (never in a URL, so no redirect)."""
    body, errors, raw = await parse_form(request, TokenCreate)
    if body is None:
        return await _page(request, p, session, status=422, values=raw, errors=errors)
    token = await auth.issue_token(session, actor=p.actor(), body=body, via_token=p.via_token)
    resp = await _page(request, p, session, status=201, new_secret=token.secret, new_token=token)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@router.post("/account/tokens/{token_id}/revoke")
async def revoke_token(session: Session, token_id: Id, p: Principal = require("dashboard", "read")):
    row = await auth.revoke_token(session, actor=p.actor(), user_id=p.user_id, token_id=token_id)
    return redirect("/account/tokens", flash=f"Token “{row.name}” revoked.")


@router.get("/account/password")
async def password_page(request: Request, p: Principal = require("dashboard", "read")):
    return render(request, "account_password.html", p, errors={})


@router.post("/account/password")
async def change_password(session: Session, request: Request, p: Principal = require("dashboard", "read")):
    """Change your own password (the current one first); your other sessions end."""
    form, errors, _ = await parse_form(request, PasswordChange)
    if form is not None:
        try:
            await auth.change_own_password(
                session,
                actor=p.actor(),
                user_id=p.user_id,
                current=form.current,
                new=form.new,
                session_id=getattr(request.state, "user_session_id", None),
            )
        except InvalidInput as exc:  # shown beside the field it is about; nothing changed
            errors = {exc.extra.get("field", "new"): exc.detail}
        else:
            return redirect("/account/password", flash="Password changed.")
    return render(request, "account_password.html", p, status=422, errors=errors)


class ZoneForm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timezone: str | None = Field(default=None, max_length=64)


@router.get("/account/timezone")
async def timezone_page(session: Session, request: Request, p: Principal = require("dashboard", "read")):
    user = await auth.get_user(session, p.user_id)
    return render(request, "account_timezone.html", p, zones=ZONES, chosen=user.timezone, errors={})


@router.post("/account/timezone")
async def set_timezone(session: Session, request: Request, p: Principal = require("dashboard", "read")):
    """See times in a zone of your choice, or (blank) in your branch's."""
    form, errors, _ = await parse_form(request, ZoneForm)
    if form is not None:
        try:
            await auth.set_timezone(session, actor=p.actor(), user_id=p.user_id, timezone=form.timezone)
        except InvalidInput as exc:
            errors = {"timezone": exc.detail}
        else:
            return redirect("/account/timezone", flash="Times are now shown in your chosen zone.")
    return render(request, "account_timezone.html", p, status=422, zones=ZONES, chosen=None, errors=errors)
