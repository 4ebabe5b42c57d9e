"""Marketplace test data: vendors already decided (no workflow needed), bound vendor users,
vendor products in stock, and shortcuts over the vendor ledger."""

from __future__ import annotations

from backroom.catalog import service as catalog
from backroom.catalog.schemas import ProductCreate
from backroom.vendors import service as vendors
from backroom.vendors.flow import GateDecision
from backroom.vendors.schemas import VendorApply
from tests.helpers import TEST_ACTOR, create_user, uniq


async def make_vendor(
    session, *, branch, status: str = "approved", trusted: bool = False, name: str | None = None, **kw
):
    """A vendor that applied and was decided (`approved`, `rejected`, `suspended`; `applied`
    leaves it waiting). Paid by Stripe unless `payout_method="bank"` is given."""
    data = {
        "name": name or uniq("Vendor "),
        "legal_name": kw.pop("legal_name", "Vendor Trading LLC"),
        "contact_name": "Vera Vendor",
        "contact_email": f"{uniq('v')}@vendor.example.com",
        "contact_phone": kw.pop("contact_phone", "+1 555 0100"),
        "tax_id": "US-12-3456789",
        "categories": ["Ceramics"],
        "payout_method": kw.pop("payout_method", "stripe"),
    }
    if data["payout_method"] == "stripe":
        data["stripe_account_id"] = kw.pop("stripe_account_id", "acct_" + uniq("t"))
    else:
        data.update(bank_account_name="Vendor Trading LLC", bank_iban="DE89370400440532013000")
    vendor = await vendors.apply(session, actor=TEST_ACTOR, data=VendorApply(**data), branch_id=branch.id)
    if status != "applied":
        decided = "approved" if status in ("approved", "suspended") else "rejected"
        await vendors.decide_application(
            session,
            actor=TEST_ACTOR,
            decision=GateDecision(
                subject_id=vendor.id, status=decided, decided_by_name="Test", reason="test"
            ),
        )
    if status == "suspended":
        await vendors.suspend(session, actor=TEST_ACTOR, vendor_id=vendor.id, reason="test")
    vendor.trusted = trusted
    for k, v in kw.items():
        setattr(vendor, k, v)
    await session.flush()
    return vendor


async def vendor_user(session, *, vendor, branch, **kw):
    return await create_user(session, grants=[("vendor", branch.id)], vendor_id=vendor.id, **kw)


async def vendor_product(
    session, *, vendor, branch, price: int = 2500, stock: int = 10, name: str | None = None
):
    """A listed (active) product of the vendor with stock in `branch`."""
    product = await catalog.create_product(
        session,
        actor=TEST_ACTOR,
        data=ProductCreate(
            sku=uniq("VP-"),
            name=name or uniq("Vendor item "),
            category="Ceramics",
            price_minor=price,
            vendor_id=vendor.id,
            weight_g=400,
        ),
    )
    if stock:
        await catalog.adjust_stock(
            session, actor=TEST_ACTOR, product_id=product.id, branch_id=branch.id, delta=stock, reason="test"
        )
    return product
