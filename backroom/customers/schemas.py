from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from backroom.customers.models import AddressKind, CustomerKind, CustomerStatus
from backroom.ids import RecordId
from backroom.inputs import WS, Input

# A phone number: at least six digits among spaces and + - ( ) . (blank: none). The document
# carries the pattern; the validator holds to it.
PHONE = rf"^{WS}*((?:[ +\-().]*[0-9]){{6}}[0-9 +\-().]*)?{WS}*$"


class CustomerCreate(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    kind: CustomerKind = CustomerKind.person
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=32, json_schema_extra={"pattern": PHONE})
    home_branch_id: RecordId
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
        if v is None or not v.strip():
            return None
        if not re.fullmatch(PHONE, v):
            raise ValueError("enter a phone number of digits, spaces and + - ( )")
        return v


class CustomerUpdate(Input):
    """Profile fields staff may change; absent fields stay as they are. The credit limit is not
    here: it changes only through a credit-limit request."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    kind: CustomerKind | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=32, json_schema_extra={"pattern": PHONE})
    home_branch_id: RecordId | None = None
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


class CustomerBrief(BaseModel):
    """A customer in search results and duplicate lists."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: CustomerKind
    name: str
    email: str | None
    phone: str | None
    home_branch_id: int
    tags: list[str]
    status: CustomerStatus
    merged_into_id: int | None

    @field_validator("tags", mode="before")
    @classmethod
    def _no_tags(cls, v: list[str] | None) -> list[str]:
        return v or []


class CustomerRead(CustomerBrief):
    credit_limit_minor: int
    currency: str
    consent_email: bool
    consent_sms: bool
    notes: str | None
    created_at: datetime
    updated_at: datetime


class ContactCreate(Input):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    role: str | None = Field(default=None, max_length=80)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=32, pattern=r"^[0-9+()\-. ]{3,32}$")


class ContactRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str | None
    role: str | None
    email: str | None
    phone: str | None


class AddressCreate(Input):
    model_config = ConfigDict(extra="forbid")
    kind: AddressKind = AddressKind.shipping
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    is_default: bool = False


class AddressRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: AddressKind
    line1: str | None
    line2: str | None
    city: str | None
    region: str | None
    postal_code: str | None
    country: str | None
    is_default: bool


class MergeRequest(Input):
    model_config = ConfigDict(extra="forbid")
    survivor_id: RecordId


class EraseRequest(Input):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=500)
    confirm: bool = Field(json_schema_extra={"const": True})

    @field_validator("confirm")
    @classmethod
    def _confirmed(cls, v: bool) -> bool:
        if not v:
            raise ValueError("confirm the erasure (confirm: true)")
        return v


class TimelineItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    at: datetime
    kind: str  # interaction | order | complaint | credit | audit | task
    title: str
    detail: str | None
    link: str | None
    due: datetime | None = None
