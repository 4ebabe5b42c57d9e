"""API tokens of the signed-in user: create (secret shown once), list, revoke.

Permission: ("dashboard", "read") is the baseline every staff role holds (it opens the start
page), so it stands for "a signed-in staff member" here: anyone who may use Backroom may
manage the tokens that act as themselves, and no more. A token never carries more rights
than its user. Managing another user's tokens is admin work: see api/routes/admin.py.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Session, require
from api.params import Id
from backroom.auth import service as auth
from backroom.auth.errors import TokenCannotMint
from backroom.auth.models import ApiToken
from backroom.auth.principal import Principal
from backroom.auth.schemas import TokenCreate, TokenCreated, TokenRead
from backroom.db.base import utcnow
from backroom.pagination import paginate

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])
STAFF = ("dashboard", "read")


async def create_for(session: AsyncSession, p: Principal, user_id: int, body: TokenCreate) -> TokenCreated:
    """Create a token for `user_id`; the response carries the secret, once."""
    if p.via_token:
        # A leaked token must not be able to mint successors that outlive its revocation.
        raise TokenCannotMint(
            "Create API tokens while signed in (the API tokens page), not with another token."
        )
    expires = utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    secret, row = await auth.create_token(
        session, actor=p.actor(), user_id=user_id, name=body.name, expires_at=expires
    )
    return TokenCreated(secret=secret, **TokenRead.model_validate(row).model_dump())


async def list_for(session: AsyncSession, user_id: int, limit: int, cursor: str | None) -> dict:
    page = await paginate(
        session,
        select(ApiToken).where(ApiToken.user_id == user_id),
        sort_col=ApiToken.id,
        id_col=ApiToken.id,
        limit=limit,
        cursor=cursor,
        descending=True,
    )
    return {"items": [TokenRead.model_validate(t) for t in page.items], "next_cursor": page.next_cursor}


@router.post("", status_code=201, response_model=TokenCreated)
async def create_token(session: Session, body: TokenCreate, p: Principal = require(*STAFF)):
    """Create a token acting as yourself. Not idempotent: each call makes a new secret."""
    return await create_for(session, p, p.user_id, body)


@router.get("")
async def list_tokens(
    session: Session, limit: int = 50, cursor: str | None = None, p: Principal = require(*STAFF)
) -> dict:
    """Your tokens, newest first (secrets are never shown again)."""
    return await list_for(session, p.user_id, limit, cursor)


@router.delete("/{token_id}", response_model=TokenRead)
async def revoke_token(session: Session, token_id: Id, p: Principal = require(*STAFF)):
    """Revoke one of your tokens. Idempotent."""
    return await auth.revoke_token(session, actor=p.actor(), user_id=p.user_id, token_id=token_id)
