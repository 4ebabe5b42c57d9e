"""Your own API tokens: create (the secret is shown once), list, revoke.

Permission ("dashboard", "read"): the baseline every staff role holds; see api/routes/tokens.py."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Session, require
from api.params import Id
from api.ui.common import parse_form, redirect, render
from backroom.auth import service as auth
from backroom.auth.principal import Principal
from backroom.auth.schemas import TokenCreate
from backroom.db.base import utcnow

router = APIRouter(include_in_schema=False)
NAV = [("API tokens", "/account/tokens", ("dashboard", "read"), 95)]


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
