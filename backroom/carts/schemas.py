"""Cart payloads shared by the API, the CartWorkflow and its activities."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from backroom.carts.models import CartStatus
from backroom.carts.pricing import Totals
from backroom.inputs import WS, Input
from backroom.pagination import CursorText

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,31}$")


def normalize_code(raw: str) -> str:
    """Discount codes are case-insensitive: kept and compared upper-case, spaces dropped."""
    return "".join(raw.split()).upper()


# A code as typed: 3 to 32 letters, digits or dashes (a letter or digit first), any case, spaces
# anywhere. The OpenAPI document carries this pattern; check_code holds to it.
RAW_CODE = rf"^{WS}*[A-Za-z0-9]({WS}*[A-Za-z0-9-]){{2,31}}{WS}*$"


def check_code(raw: str) -> str:
    code = normalize_code(raw)
    if not re.fullmatch(RAW_CODE, raw) or not CODE_RE.match(code):
        raise ValueError("A code is 3 to 32 letters, digits or dashes.")
    return code


# A product id the database can hold: a wilder one is refused here, not inside the workflow.
ProductId = Field(ge=1, le=2**63 - 1)
# A change's idempotency key (the API's Idempotency-Key header, the storefront's hidden field):
# the cart workflow applies a change once per key. Not in the API body's schema: the edge sets it.
ChangeKey = SkipJsonSchema[str | None]
MAX_KEY = 128


class CartItem(Input):
    model_config = ConfigDict(extra="forbid")
    product_id: int = ProductId
    qty: int = Field(ge=1, le=999)
    key: ChangeKey = Field(default=None, max_length=MAX_KEY)


class CartQty(BaseModel):
    """Set a line's quantity; 0 removes it."""

    model_config = ConfigDict(extra="forbid")
    product_id: int = ProductId
    qty: int = Field(ge=0, le=999)
    key: ChangeKey = Field(default=None, max_length=MAX_KEY)


class CartRemove(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: int = ProductId
    key: ChangeKey = Field(default=None, max_length=MAX_KEY)


class CartCode(Input):
    """A discount code typed into a cart (storefront, staff cart or API)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: str = Field(min_length=1, max_length=40, json_schema_extra={"pattern": RAW_CODE})
    key: ChangeKey = Field(default=None, max_length=MAX_KEY)

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        return check_code(v)


class CartPricing(BaseModel):
    """What the cart's pricing step returns: totals with the discounts that apply, and why
    each other code the customer entered does not."""

    totals: Totals
    refused: dict[str, str] = {}


class ReminderState(BaseModel):
    """The abandoned-cart cadence inside CartWorkflow: hours after the last change, how many
    reminders went since that change, and whether the customer opted out."""

    hours: list[float] | None = None
    sent: int = 0
    base: datetime | None = None
    off: bool = False


class CheckoutLock(BaseModel):
    key: str


class CheckoutDone(BaseModel):
    key: str
    order_id: int


class CartQuote(BaseModel):
    cart_id: int
    currency: str
    items: dict[int, int]
    codes: list[str] = []


class CartView(BaseModel):
    cart_id: int
    status: str  # open | checking_out | checked_out | abandoned
    items: dict[int, int]
    totals: Totals | None = None
    version: int = 0
    order_id: int | None = None
    last_activity_at: datetime | None = None
    codes: list[str] = []  # discount codes entered, in order
    code_notes: dict[str, str] = {}  # code -> why it does not apply right now


class CartStart(BaseModel):
    cart_id: int
    branch_id: int
    currency: str
    idle_days: float = 30
    state: CartView | None = None  # carried over by continue-as-new
    checkout_key: str | None = None
    reminders: ReminderState | None = None  # carried over by continue-as-new
    keys: dict[str, str] | None = None  # idempotency keys applied, carried over by continue-as-new
    rev: int = 0  # the workflow revision the run started at (carts.flow.CART_REV); 0: from before


class CartCreate(Input):
    """A staff-made cart for a signed-in customer (anonymous carts come from the storefront)."""

    model_config = ConfigDict(extra="forbid")
    customer_id: int = Field(ge=1)
    branch_id: int | None = Field(default=None, ge=1)


class CartQtyIn(Input):
    """The new quantity of a line (0 removes it); the product is in the path."""

    model_config = ConfigDict(extra="forbid")
    qty: int = Field(ge=0, le=999)


class CartFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: CartStatus | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: CursorText | None = None


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
