"""User administration pages: users, role grants per branch, their API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

import policies
from api.deps import Session, require
from api.params import Id
from api.ui.common import branch_choices, parse_form, redirect, render
from api.validation import messages
from backroom.auth import service as auth
from backroom.auth.models import User
from backroom.auth.principal import Principal
from backroom.auth.schemas import GrantIn, Role, UserCreate
from backroom.branches import service as branches
from backroom.pagination import paginate

router = APIRouter(include_in_schema=False)
NAV = [("Users", "/admin/users", ("admin", "list"), 100)]


class UserForm(BaseModel):
    """The create-user form: one optional first grant (more on the user's page)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    username: str
    full_name: str
    email: str | None = None
    password: str
    role: Role | None = None
    branch: str | None = Field(default=None, max_length=20)  # a branch id, or "all"


class GrantForm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    branch: str = Field(max_length=20)


class PasswordForm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(max_length=200)


async def _branch_names(session: AsyncSession) -> dict[int, str]:
    return {b.id: b.name for b in await branches.list_branches(session)}


def _branch_id(value: str | None) -> int | None:
    return None if value in (None, "", "all") else int(value) if value.isdigit() else -1


@router.get("/admin/users")
async def users_page(
    session: Session,
    request: Request,
    q: str | None = None,
    cursor: str | None = None,
    p: Principal = require("admin", "list"),
):
    page = await paginate(
        session,
        auth.users_query(search=(q or "")[:64]),
        sort_col=User.username,
        id_col=User.id,
        limit=50,
        cursor=cursor,
    )
    return render(
        request,
        "admin_users.html",
        p,
        page=page,
        grants=await auth.grants_by_user(session, [u.id for u in page.items]),
        names=await _branch_names(session),
        q=q or "",
        roles=policies.ROLES,
        branches=await branch_choices(session, p, "admin", "create"),
        every_branch=p.branch_ids("admin", "create") is None,
        values={},
        errors={},
    )


@router.post("/admin/users")
async def create_user(session: Session, request: Request, p: Principal = require("admin", "create")):
    """Create a user (and a first role grant); a taken user name is refused."""
    form, errors, raw = await parse_form(request, UserForm)
    body = None
    if form is not None:
        grants = [{"role": form.role, "branch_id": _branch_id(form.branch)}] if form.role else []
        body, errors, _ = _validate(
            UserCreate, {**form.model_dump(exclude={"role", "branch"}), "grants": grants}
        )
    if body is None:
        page = await paginate(session, auth.users_query(), sort_col=User.username, id_col=User.id, limit=50)
        return render(
            request,
            "admin_users.html",
            p,
            status=422,
            page=page,
            grants=await auth.grants_by_user(session, [u.id for u in page.items]),
            names=await _branch_names(session),
            q="",
            roles=policies.ROLES,
            branches=await branch_choices(session, p, "admin", "create"),
            every_branch=p.branch_ids("admin", "create") is None,
            values=raw,
            errors=errors,
        )
    user = await auth.create_user(
        session,
        actor=p.actor(),
        username=body.username,
        full_name=body.full_name,
        password=body.password,
        email=body.email,
        grants=[(g.role, g.branch_id) for g in body.grants],
    )
    return redirect(f"/admin/users/{user.id}", flash=f"User {user.username} created.")


def _validate(model, data):
    """Validate the API model built from a form; errors keyed by the form's field names."""
    try:
        return model.model_validate(data), {}, data
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for key, text in messages(exc, model).items():
            key = key.split(".")[0]
            errors.setdefault({"grants": "role", "branch_id": "branch"}.get(key, key), text)
        return None, errors, data


@router.get("/admin/users/{user_id}")
async def user_page(session: Session, user_id: Id, request: Request, p: Principal = require("admin", "read")):
    return await _user_page(request, p, session, user_id)


async def _user_page(request, p, session, user_id, *, status=200, errors=None):
    """The user's page: status, roles per branch, password reset, API tokens."""
    user = await auth.get_user(session, user_id)
    all_branches = await branches.list_branches(session)
    return render(
        request,
        "admin_user.html",
        p,
        status=status,
        user=user,
        grants=await auth.user_grants(session, user_id),
        tokens=await auth.list_tokens(session, user_id=user_id),
        roles=policies.ROLES,
        branches=await branch_choices(session, p, "admin", "update"),
        every_branch=p.branch_ids("admin", "update") is None,
        names={b.id: b.name for b in all_branches},
        errors=errors or {},
    )


async def _change_grant(
    request: Request, p: Principal, session: AsyncSession, user_id: int, change, verb: str
):
    form, errors, _ = await parse_form(request, GrantForm)
    grant, more = None, {}
    if form is not None:
        grant, more, _ = _validate(GrantIn, {"role": form.role, "branch_id": _branch_id(form.branch)})
    if grant is None:
        return await _user_page(request, p, session, user_id, status=422, errors={**errors, **more})
    await auth.get_user(session, user_id)
    await change(session, actor=p.actor(), user_id=user_id, role=grant.role, branch_id=grant.branch_id)
    return redirect(f"/admin/users/{user_id}", flash=f"{verb} {grant.role}.")


@router.post("/admin/users/{user_id}/grants")
async def grant_role(
    session: Session, user_id: Id, request: Request, p: Principal = require("admin", "update")
):
    """Grant a role in a branch (or every branch). Idempotent."""
    return await _change_grant(request, p, session, user_id, auth.grant_role, "Granted")


@router.post("/admin/users/{user_id}/grants/revoke")
async def revoke_role(
    session: Session, user_id: Id, request: Request, p: Principal = require("admin", "update")
):
    """Revoke a role in a branch (or the every-branch grant). Idempotent."""
    return await _change_grant(request, p, session, user_id, auth.revoke_role, "Revoked")


@router.post("/admin/users/{user_id}/tokens/{token_id}/revoke")
async def revoke_token(
    session: Session, user_id: Id, token_id: Id, p: Principal = require("admin", "update")
):
    row = await auth.revoke_token(session, actor=p.actor(), user_id=user_id, token_id=token_id)
    return redirect(f"/admin/users/{user_id}", flash=f"Token “{row.name}” revoked.")


@router.post("/admin/users/{user_id}/deactivate")
async def deactivate(session: Session, user_id: Id, p: Principal = require("admin", "update")):
    """Deactivate: the user's sessions and API tokens end now and sign-in is refused. Idempotent."""
    user = await auth.set_active(session, actor=p.actor(), user_id=user_id, active=False)
    return redirect(f"/admin/users/{user_id}", flash=f"{user.full_name} is deactivated and signed out.")


@router.post("/admin/users/{user_id}/reactivate")
async def reactivate(session: Session, user_id: Id, p: Principal = require("admin", "update")):
    """Let a deactivated user sign in again. Idempotent."""
    user = await auth.set_active(session, actor=p.actor(), user_id=user_id, active=True)
    return redirect(f"/admin/users/{user_id}", flash=f"{user.full_name} can sign in again.")


@router.post("/admin/users/{user_id}/password")
async def reset_password(
    session: Session, user_id: Id, request: Request, p: Principal = require("admin", "update")
):
    """Set a new password for the user; their sessions and API tokens end."""
    form, errors, _ = await parse_form(request, PasswordForm)
    if form is None:
        return await _user_page(request, p, session, user_id, status=422, errors=errors)
    user = await auth.reset_password(session, actor=p.actor(), user_id=user_id, password=form.password)
    return redirect(
        f"/admin/users/{user_id}", flash=f"New password set for {user.full_name}; tell them in person."
    )
