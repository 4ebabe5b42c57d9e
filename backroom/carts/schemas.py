"""Cart payloads shared by the API, the CartWorkflow and its activities."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from backroom.carts.models import CartStatus
from backroom.carts.pricing import Totals

# A product id the database can hold: a wilder one is refused here, not inside the workflow.
ProductId = Field(ge=1, le=2**63 - 1)


class CartItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: int = ProductId
    qty: int = Field(ge=1, le=999)


class CartQty(BaseModel):
    """Set a line's quantity; 0 removes it."""

    model_config = ConfigDict(extra="forbid")
    product_id: int = ProductId
    qty: int = Field(ge=0, le=999)


class CartRemove(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: int = ProductId


class CheckoutLock(BaseModel):
    key: str


class CheckoutDone(BaseModel):
    key: str
    order_id: int


class CartQuote(BaseModel):
    cart_id: int
    currency: str
    items: dict[int, int]


class CartView(BaseModel):
    cart_id: int
    status: str  # open | checking_out | checked_out | abandoned
    items: dict[int, int]
    totals: Totals | None = None
    version: int = 0
    order_id: int | None = None
    last_activity_at: datetime | None = None


class CartStart(BaseModel):
    cart_id: int
    branch_id: int
    currency: str
    idle_days: float = 30
    state: CartView | None = None  # carried over by continue-as-new
    checkout_key: str | None = None


class CartCreate(BaseModel):
    """A staff-made cart for a signed-in customer (anonymous carts come from the storefront)."""

    model_config = ConfigDict(extra="forbid")
    customer_id: int = Field(ge=1)
    branch_id: int | None = Field(default=None, ge=1)


class CartQtyIn(BaseModel):
    """The new quantity of a line (0 removes it); the product is in the path."""

    model_config = ConfigDict(extra="forbid")
    qty: int = Field(ge=0, le=999)


class CartFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: CartStatus | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = None


class CartLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    product_id: int
    sku: str
    name: str
    qty: int
    unit_price_minor: int
    line_total_minor: int


class CartRead(BaseModel):
    """A cart as the database projects it (the cart's workflow is the source of truth)."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    status: CartStatus
    branch_id: int
    customer_id: int | None
    currency: str
    item_count: int
    subtotal_minor: int
    discount_minor: int
    tax_minor: int
    shipping_minor: int
    total_minor: int
    order_id: int | None
    lines: list[CartLineRead] = []
