"""User administration: list and create users, grant and revoke roles per branch, manage
revoke their API tokens. Every change is audited by backroom.auth.service, which also limits
it to what the acting user could grant (backroom.auth.delegation). Nobody creates a token for
another user: a service account signs in and makes its own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Session, require
from api.params import Id
from backroom.auth import service as auth
from backroom.auth.models import User
from backroom.auth.principal import Principal
from backroom.auth.schemas import (
    MAX_ID,
    GrantIn,
    PasswordReset,
    Role,
    TokenRead,
    UserCreate,
    UserDetail,
    UserRead,
)
from backroom.pagination import CursorText, PageRead, paginate

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


async def user_detail(session: AsyncSession, user_id: int) -> UserDetail:
    user = await auth.get_user(session, user_id)
    grants = await auth.user_grants(session, user_id)
    return UserDetail(
        **UserRead.model_validate(user).model_dump(), grants=[{"role": r, "branch_id": b} for r, b in grants]
    )


@router.get("/users")
async def list_users(
    session: Session,
    q: Annotated[str | None, Query(max_length=64)] = None,
    limit: int = 50,
    cursor: CursorText | None = None,
    p: Principal = require("admin", "list"),
) -> PageRead[UserRead]:
    """Users by user name, optionally filtered by `q` (user name or full name)."""
    page = await paginate(
        session,
        auth.users_query(search=q),
        sort_col=User.username,
        id_col=User.id,
        limit=limit,
        cursor=cursor,
    )
    return PageRead[UserRead].of(page, UserRead)


@router.get("/users/{user_id:id}", response_model=UserDetail)
async def get_user(session: Session, user_id: Id, p: Principal = require("admin", "read")):
    return await user_detail(session, user_id)


@router.post("/users", status_code=201, response_model=UserDetail)
async def create_user(session: Session, body: UserCreate, p: Principal = require("admin", "create")):
    """Create a staff user with role grants. Not idempotent: a taken user name is a 409."""
    user = await auth.create_user(
        session,
        actor=p.actor(),
        username=body.username,
        full_name=body.full_name,
        password=body.password,
        email=body.email,
        grants=[(g.role, g.branch_id) for g in body.grants],
    )
    return await user_detail(session, user.id)


@router.post("/users/{user_id:id}/grants", response_model=UserDetail)
async def grant_role(session: Session, user_id: Id, body: GrantIn, p: Principal = require("admin", "update")):
    """Grant a role in a branch (branch_id null: every branch). Idempotent."""
    await auth.get_user(session, user_id)
    await auth.grant_role(session, actor=p.actor(), user_id=user_id, role=body.role, branch_id=body.branch_id)
    return await user_detail(session, user_id)


@router.delete("/users/{user_id:id}/grants/{role}", response_model=UserDetail)
async def revoke_role(
    session: Session,
    user_id: Id,
    role: Role,
    branch_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    p: Principal = require("admin", "update"),
):
    """Revoke a role in a branch (no branch_id: the every-branch grant). Idempotent."""
    await auth.get_user(session, user_id)
    await auth.revoke_role(session, actor=p.actor(), user_id=user_id, role=role, branch_id=branch_id)
    return await user_detail(session, user_id)


@router.post("/users/{user_id:id}/deactivate", response_model=UserDetail)
async def deactivate_user(session: Session, user_id: Id, p: Principal = require("admin", "update")):
    """Deactivate: the user's sessions and API tokens end at once; sign-in is refused. Idempotent."""
    await auth.set_active(session, actor=p.actor(), user_id=user_id, active=False)
    return await user_detail(session, user_id)


@router.post("/users/{user_id:id}/reactivate", response_model=UserDetail)
async def reactivate_user(session: Session, user_id: Id, p: Principal = require("admin", "update")):
    """Let a deactivated user sign in again (old sessions and tokens stay ended). Idempotent."""
    await auth.set_active(session, actor=p.actor(), user_id=user_id, active=True)
    return await user_detail(session, user_id)


@router.post("/users/{user_id:id}/password", response_model=UserDetail)
async def reset_password(
    session: Session, user_id: Id, body: PasswordReset, p: Principal = require("admin", "update")
):
    """Set a new password for the user; their sessions and API tokens end. Not idempotent."""
    await auth.reset_password(session, actor=p.actor(), user_id=user_id, password=body.password)
    return await user_detail(session, user_id)


@router.get("/users/{user_id:id}/tokens")
async def list_user_tokens(
    session: Session,
    user_id: Id,
    limit: int = 50,
    cursor: CursorText | None = None,
    p: Principal = require("admin", "read"),
) -> PageRead[TokenRead]:
    await auth.get_user(session, user_id)
    page = await auth.tokens_page(session, user_id=user_id, limit=limit, cursor=cursor)
    return PageRead[TokenRead].of(page, TokenRead)


@router.delete("/users/{user_id:id}/tokens/{token_id:id}", response_model=TokenRead)
async def revoke_user_token(
    session: Session, user_id: Id, token_id: Id, p: Principal = require("admin", "update")
):
    """Revoke any user's token. Idempotent."""
    return await auth.revoke_token(session, actor=p.actor(), user_id=user_id, token_id=token_id)
