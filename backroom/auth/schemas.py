"""Request and response models for users, role grants and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

import policies
from backroom.inputs import Input

Role = Literal[
    "admin",
    "manager",
    "supervisor",
    "clerk",
    "agent",
    "warehouse",
    "finance",
    "vendor",
    "auditor",
    "technician",
]
assert set(Role.__args__) == set(policies.ROLES), "keep Role in step with policies.ROLES"

# Ids fit a signed 64-bit column on every database.
MAX_ID = 2**63 - 1


class Strict(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class GrantIn(Strict):
    role: Role
    branch_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="null: every branch")


class UserCreate(Strict):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    full_name: str = Field(min_length=1, max_length=120)
    email: EmailStr | None = None
    password: str = Field(min_length=8, max_length=256)
    grants: list[GrantIn] = Field(default_factory=list, max_length=50)


class GrantRead(BaseModel):
    role: str
    branch_id: int | None


class PasswordReset(Strict):
    password: str = Field(min_length=8, max_length=200)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    full_name: str
    email: str | None
    is_active: bool
    vendor_id: int | None
    created_at: datetime


class UserDetail(UserRead):
    grants: list[GrantRead]


class TokenCreate(Strict):
    # No control characters (the name is shown on pages); the document says the same.
    name: str = Field(min_length=1, max_length=80, pattern=r"^[^\x00-\x1f\x7f]*$")
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenRead):
    secret: str = Field(description="Shown once; only its hash is kept.")
