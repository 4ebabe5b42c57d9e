from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator


class CustomerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    kind: Literal["person", "company"] = "person"
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=32)
    home_branch_id: int = Field(gt=0)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    tags: list[str] = Field(default_factory=list, max_length=20)
    consent_email: bool = False
    consent_sms: bool = False
    notes: str | None = Field(default=None, max_length=5000)
    # Create even when an existing customer has the same email/phone or a very similar name.
    allow_duplicate: bool = False

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        digits = sum(ch.isdigit() for ch in v)
        if digits < 6 or any(not (ch.isdigit() or ch in " +-().") for ch in v):
            raise ValueError("enter a phone number of digits, spaces and + - ( )")
        return v


class CustomerUpdate(BaseModel):
    """Profile fields staff may change; absent fields stay as they are. The credit limit is not
    here: it changes only through a credit-limit request."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    kind: Literal["person", "company"] | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=32)
    home_branch_id: int | None = Field(default=None, gt=0)
    tags: list[str] | None = Field(default=None, max_length=20)
    consent_email: bool | None = None
    consent_sms: bool | None = None
    notes: str | None = Field(default=None, max_length=5000)

    _phone = field_validator("phone")(CustomerCreate._phone.__func__)

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        tags = sorted({t.strip().lower() for t in v if t and t.strip()})
        if any(len(t) > 40 for t in tags):
            raise ValueError("tags are at most 40 characters")
        return tags


class CustomerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    name: str
    email: str | None
    phone: str | None
    home_branch_id: int
    credit_limit_minor: int
    currency: str
    tags: list[str]
    consent_email: bool
    consent_sms: bool
    notes: str | None
    status: str
    merged_into_id: int | None
    created_at: datetime
    updated_at: datetime
