from __future__ import annotations

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator


class ContactCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    role: str | None = Field(default=None, max_length=80)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=32, pattern=r"^[0-9+()\-. ]{3,32}$")


class AddressCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(default="shipping", pattern=r"^(billing|shipping)$")
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    is_default: bool = False


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    survivor_id: int = Field(gt=0)


class EraseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=500)
    confirm: bool

    @field_validator("confirm")
    @classmethod
    def _confirmed(cls, v: bool) -> bool:
        if not v:
            raise ValueError("confirm the erasure (confirm: true)")
        return v
