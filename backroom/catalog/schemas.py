from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from backroom.catalog.models import ProductStatus
from backroom.inputs import Input
from backroom.money import Minor
from backroom.pagination import CursorText

Currency = Field(pattern=r"^[A-Z]{3}$")


class ProductCreate(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    category: str = Field(min_length=1, max_length=64)
    price_minor: Minor = Field(ge=0, le=10**11)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    tax_rate_bp: int = Field(default=0, ge=0, le=10000)
    weight_g: int = Field(default=0, ge=0, le=1_000_000)
    length_mm: int = Field(default=0, ge=0, le=10_000)
    width_mm: int = Field(default=0, ge=0, le=10_000)
    height_mm: int = Field(default=0, ge=0, le=10_000)
    warranty_months: int = Field(default=0, ge=0, le=240)
    serial_tracked: bool = False  # the warehouse records each unit's serial number when packing
    vendor_id: int | None = Field(default=None, ge=1)


class ProductUpdate(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    category: str | None = Field(default=None, min_length=1, max_length=64)
    price_minor: Minor | None = Field(default=None, ge=0, le=10**11)
    tax_rate_bp: int | None = Field(default=None, ge=0, le=10000)
    weight_g: int | None = Field(default=None, ge=0, le=1_000_000)
    length_mm: int | None = Field(default=None, ge=0, le=10_000)
    width_mm: int | None = Field(default=None, ge=0, le=10_000)
    height_mm: int | None = Field(default=None, ge=0, le=10_000)
    warranty_months: int | None = Field(default=None, ge=0, le=240)
    serial_tracked: bool | None = None


class StockRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    branch_id: int
    on_hand: int
    reserved: int
    bin: str | None = None  # the shelf or bin in the branch

    @computed_field
    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class ProductRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sku: str
    name: str
    description: str | None
    category: str
    price_minor: int
    currency: str
    tax_rate_bp: int
    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int
    warranty_months: int
    serial_tracked: bool
    vendor_id: int | None
    status: ProductStatus
    created_at: datetime
    updated_at: datetime


class ProductDetail(ProductRead):
    """A product with its stock in each branch."""

    stock: list[StockRead] = []


class StockAdjust(Input):
    model_config = ConfigDict(extra="forbid")

    branch_id: int = Field(ge=1)
    delta: int = Field(ge=-1_000_000, le=1_000_000)
    reason: str = Field(min_length=1, max_length=200)


class StockBin(Input):
    """Where a branch keeps a product; blank or null: nowhere in particular."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    branch_id: int = Field(ge=1)
    bin: str | None = Field(default=None, max_length=40)


class ProductFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: str | None = Field(default=None, max_length=100)
    category: str | None = Field(default=None, max_length=64)
    status: Literal["active", "archived", "all"] = "active"
    vendor_id: int | None = None
    sort: Literal["name", "price", "created", "sku"] = "name"
    desc: bool = False
    limit: int = Field(default=50, ge=1, le=200)
    cursor: CursorText | None = None
