"""What the vendor API and pages take and give."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from backroom.inputs import Input, stripped_length
from backroom.vendors.models import ChangeStatus, PayoutMethod, PayoutStatus, VendorStatus

_FORM = ConfigDict(extra="forbid", str_strip_whitespace=True)


# _payout_details' rule in the document: a Stripe payout (the default) needs the connected
# account, a bank payout the account name and IBAN.
_NOT_BLANK = stripped_length(1, 120)  # bank_account_name, as stripped
_PAYOUT_DETAILS = {
    "anyOf": [
        {
            "properties": {"payout_method": {"const": "stripe"}, "stripe_account_id": {"type": "string"}},
            "required": ["stripe_account_id"],
        },
        {
            "properties": {
                "payout_method": {"const": "bank"},
                "bank_account_name": {"type": "string", "pattern": _NOT_BLANK},
                "bank_iban": {"type": "string"},
            },
            "required": ["payout_method", "bank_account_name", "bank_iban"],
        },
    ]
}


class VendorApply(Input):
    """An application: who the vendor is, how it is paid, what it sells."""

    model_config = ConfigDict(**_FORM, json_schema_extra=_PAYOUT_DETAILS)

    name: str = Field(min_length=2, max_length=120)
    legal_name: str = Field(min_length=2, max_length=200)
    contact_name: str = Field(min_length=1, max_length=120)
    contact_email: EmailStr
    contact_phone: str | None = Field(default=None, max_length=40)
    tax_id: str = Field(min_length=2, max_length=40)
    categories: list[str] = Field(default_factory=list, max_length=20)
    documents: list[str] = Field(default_factory=list, max_length=20)
    payout_method: PayoutMethod = PayoutMethod.STRIPE
    stripe_account_id: str | None = Field(default=None, pattern=r"^acct_[A-Za-z0-9]{1,60}$")
    bank_account_name: str | None = Field(default=None, max_length=120)
    bank_iban: str | None = Field(default=None, pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{8,30}$")
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    branch_id: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _payout_details(self):
        if self.payout_method == PayoutMethod.STRIPE and not self.stripe_account_id:
            raise ValueError("Give the Stripe connected account (acct_...) the vendor is paid to.")
        if self.payout_method == PayoutMethod.BANK and not (self.bank_account_name and self.bank_iban):
            raise ValueError("Give the bank account name and IBAN the vendor is paid to.")
        return self


class VendorUpdate(Input):
    """Contact and payout details; trust and the return window are staff settings."""

    model_config = _FORM

    contact_name: str | None = Field(default=None, min_length=1, max_length=120)
    contact_email: EmailStr | None = None
    contact_phone: str | None = Field(default=None, max_length=40)
    categories: list[str] | None = Field(default=None, max_length=20)
    stripe_account_id: str | None = Field(default=None, pattern=r"^acct_[A-Za-z0-9]{1,60}$")
    bank_account_name: str | None = Field(default=None, max_length=120)
    bank_iban: str | None = Field(default=None, pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{8,30}$")
    trusted: bool | None = None
    return_window_days: int | None = Field(default=None, ge=0, le=120)


class Reason(Input):
    model_config = _FORM
    reason: str = Field(min_length=3, max_length=500)


class VendorRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    legal_name: str
    contact_name: str
    contact_email: str
    contact_phone: str | None
    tax_id: str
    categories: list[str]
    documents: list[str]
    payout_method: PayoutMethod
    stripe_account_id: str | None
    bank_account_name: str | None
    currency: str
    status: VendorStatus
    trusted: bool
    return_window_days: int
    decision_note: str | None
    branch_id: int
    approved_at: datetime | None
    created_at: datetime


class BalanceRead(BaseModel):
    """Derived from the ledger: pending (inside the hold), payable, paid out so far."""

    currency: str
    pending_minor: int
    payable_minor: int
    paid_minor: int


class VendorDetail(VendorRead):
    balance: BalanceRead


class LedgerEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    amount_minor: int
    currency: str
    order_id: int | None
    payout_id: int | None
    note: str | None
    at: datetime


class StatementRead(BaseModel):
    """A vendor's month: opening balance, the month's ledger lines, totals by kind, closing."""

    vendor_id: int
    vendor: str
    month: str  # "2026-11"
    currency: str
    opening_minor: int
    totals: dict[str, int]
    closing_minor: int
    lines: list[LedgerEntryRead]


class PayoutRunIn(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(min_length=3, max_length=300, description="why payouts run now (audited)")


class PayoutRunRead(BaseModel):
    run_key: str


class PayoutRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    vendor_id: int
    amount_minor: int
    currency: str
    method: str
    status: PayoutStatus
    transfer_id: str | None
    note: str | None
    created_at: datetime
    paid_at: datetime | None


class ProductChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    vendor_id: int
    product_id: int
    kind: str
    proposed: dict
    status: ChangeStatus
    note: str | None
    created_at: datetime


class CommissionRuleIn(Input):
    model_config = _FORM

    vendor_id: int | None = Field(default=None, ge=1)
    category: str | None = Field(default=None, min_length=1, max_length=64)
    percent_bp: int = Field(ge=0, le=10000)
    fixed_minor: int = Field(default=0, ge=0, le=10**9)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")


class CommissionRuleRead(CommissionRuleIn):
    model_config = ConfigDict(from_attributes=True)
    id: int


class AdjustmentIn(Input):
    model_config = _FORM
    amount_minor: int = Field(ge=-(10**9), le=10**9)
    reason: str = Field(min_length=3, max_length=300)


class VendorLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    product_id: int
    sku: str
    name: str
    qty: int
    unit_price_minor: int
    line_total_minor: int
    parcel_id: int | None


class VendorParcelRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    branch_id: int
    # The vendor that ships it (its own parcel: it picks, packs, labels and ships it); None: the
    # shop's parcel (orders placed before vendors shipped their own).
    vendor_id: int | None = None
    status: str
    weight_g: int
    carrier: str | None
    tracking_number: str | None


class VendorOrderRead(BaseModel):
    """What a vendor sees of an order: its own lines and parcels and where to ship them; never
    the customer's e-mail, phone, payment or the other vendors' lines."""

    order_id: int
    status: str
    placed_at: datetime
    currency: str
    ship_name: str
    ship_line1: str
    ship_city: str
    ship_postcode: str
    ship_country: str
    lines: list[VendorLineRead]
    parcels: list[VendorParcelRead]
    sale_minor: int
    commission_minor: int
    share_status: str | None
