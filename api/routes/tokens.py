"""API tokens of the signed-in user: create (secret shown once), list, revoke.

Permission: ("dashboard", "read") is the baseline every staff role holds (it opens the start
page), so it stands for "a signed-in staff member" here: anyone who may use Backroom may
manage the tokens that act as themselves, and no more. A token never carries more rights
than its user. Managing another user's tokens is admin work: see api/routes/admin.py.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Session, require
from api.params import Id
from backroom.auth import service as auth
from backroom.auth.principal import Principal
from backroom.auth.schemas import TokenCreate, TokenCreated, TokenRead
from backroom.pagination import CursorText, PageRead

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])
STAFF = ("dashboard", "read")


@router.post("", status_code=201, response_model=TokenCreated)
async def create_token(session: Session, body: TokenCreate, p: Principal = require(*STAFF)):
    """Create a token acting as yourself. Not idempotent: each call makes a new secret."""
    return await auth.issue_token(session, actor=p.actor(), body=body, via_token=p.via_token)


@router.get("")
async def list_tokens(
    session: Session, limit: int = 50, cursor: CursorText | None = None, p: Principal = require(*STAFF)
) -> PageRead[TokenRead]:
    """Your tokens, newest first (secrets are never shown again)."""
    page = await auth.tokens_page(session, user_id=p.user_id, limit=limit, cursor=cursor)
    return PageRead[TokenRead].of(page, TokenRead)


@router.delete("/{token_id:id}", response_model=TokenRead)
async def revoke_token(session: Session, token_id: Id, p: Principal = require(*STAFF)):
    """Revoke one of your tokens. Idempotent."""
    return await auth.revoke_token(session, actor=p.actor(), user_id=p.user_id, token_id=token_id)
