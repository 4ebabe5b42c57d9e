"""Demo marketplace: two approved vendors with products in the storefront (the demo `vendor`
user belongs to Harbor Ceramics), one application waiting for a manager, one new listing
waiting for the catalog moderator, a default commission, a payout held for finance's
approval, and a storefront order with a desk lamp and a Harbor Ceramics bowl: once the worker
has taken the card, the lamp's parcel waits for the warehouse and the bowl's for Harbor
Ceramics to ship it from its panel. Idempotent (by vendor name).

The approved vendors are written as already decided (no application workflow to answer);
the pending application, the listing and the payout queue their workflows in the outbox, so
they appear in the inbox once the worker runs."""

from __future__ import annotations

from sqlalchemy import select

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.catalog import service as catalog
from backroom.catalog.models import Product
from backroom.catalog.schemas import ProductCreate
from backroom.db.base import utcnow
from backroom.orders import checkout
from backroom.orders.samples import place_sample
from backroom.settings import get_settings
from backroom.starts import service as starts
from backroom.vendors import payouts, service
from backroom.vendors.flow import PAYOUT_WORKFLOW, PayoutInput, payout_workflow_id
from backroom.vendors.models import Vendor, VendorStatus
from backroom.vendors.schemas import CommissionRuleIn, VendorApply

ACTOR = Actor.system("seed")
HELD_PAYOUT_MINOR = 180_000  # above the default approval threshold (1,000.00)
# name, legal name, contact, e-mail, categories, payout, products (sku, name, category, price, stock)
APPROVED = (
    (
        "Harbor Ceramics",
        "Harbor Ceramics LLC",
        "Hana Okafor",
        "hana@harborceramics.example.com",
        ["Kitchen"],
        {"payout_method": "stripe", "stripe_account_id": "acct_1DemoHarborCeramics"},
        (
            ("HC-BOWL", "Speckled serving bowl", "Kitchen", 3800, 12),
            ("HC-VASE", "Glazed bud vase", "Kitchen", 2400, 20),
        ),
    ),
    (
        "Northwind Textiles",
        "Northwind Textiles Ltd",
        "Nils Berg",
        "nils@northwind.example.com",
        ["Textiles"],
        {
            "payout_method": "bank",
            "bank_account_name": "Northwind Textiles Ltd",
            "bank_iban": "GB33BUKB20201555555555",
        },
        (
            ("NW-BLANKET", "Merino blanket", "Textiles", 9900, 6),
            ("NW-TOWEL", "Waffle towel set", "Textiles", 3400, 15),
        ),
    ),
)
PENDING = VendorApply(
    name="Copperleaf Candles",
    legal_name="Copperleaf Candles Inc",
    contact_name="Cora Leaf",
    contact_email="cora@copperleaf.example.com",
    tax_id="US-47-1234567",
    categories=["Home fragrance"],
    documents=["business-registration.pdf", "product-safety-sheet.pdf"],
    stripe_account_id="acct_1DemoCopperleaf",
)


async def seed(session, context) -> None:
    if await session.scalar(select(Vendor.id).where(Vendor.name == APPROVED[0][0])):
        return
    branch = context["branches"][0]
    await service.set_rule(session, actor=ACTOR, data=CommissionRuleIn(percent_bp=1200, fixed_minor=30))
    made = []
    for name, legal, contact, email, categories, pay, products in APPROVED:
        vendor = Vendor(
            name=name,
            legal_name=legal,
            contact_name=contact,
            contact_email=email,
            tax_id="US-00-0000000",
            categories=categories,
            documents=[],
            branch_id=branch.id,
            status=VendorStatus.APPROVED,
            approved_at=utcnow(),
            decision_note="Approved (demo data).",
            **pay,
        )
        session.add(vendor)
        await session.flush()
        await audit.record(
            session,
            actor=ACTOR,
            action="vendor.approved",
            entity_type="vendor",
            entity_id=vendor.id,
            branch_id=branch.id,
            after={"status": vendor.status},
        )
        for sku, title, category, price, stock in products:
            product = await catalog.create_product(
                session,
                actor=ACTOR,
                data=ProductCreate(
                    sku=sku,
                    name=title,
                    category=category,
                    price_minor=price,
                    tax_rate_bp=825,
                    weight_g=900,
                    vendor_id=vendor.id,
                ),
            )
            await catalog.adjust_stock(
                session,
                actor=ACTOR,
                product_id=product.id,
                branch_id=branch.id,
                delta=stock,
                reason="Vendor stock (demo)",
            )
        made.append(vendor)
    harbor, northwind = made
    if (user := context["users"].get("vendor")) is not None:
        await service.bind_user(session, actor=ACTOR, vendor_id=harbor.id, user_id=user.id)
    await service.apply(session, actor=ACTOR, data=PENDING, branch_id=branch.id)
    await service.create_product(
        session,
        actor=ACTOR,
        vendor_id=harbor.id,
        data=ProductCreate(
            sku="HC-PLATTER",
            name="Oval platter, sea glaze",
            category="Kitchen",
            price_minor=5600,
            tax_rate_bp=825,
        ),
    )
    # A settled balance paid out above the threshold: held until finance approves it.
    await service.adjust(
        session,
        actor=ACTOR,
        vendor_id=northwind.id,
        amount_minor=HELD_PAYOUT_MINOR,
        reason="Opening balance from the previous system",
        key="demo:northwind:opening",
    )
    await _vendor_order(session, branch, harbor)
    payout = await payouts.create_payout(
        session, actor=ACTOR, run_key="demo-opening", vendor_id=northwind.id, approval_over_minor=100_000
    )
    await starts.enqueue(
        session,
        run=PAYOUT_WORKFLOW,
        arg=PayoutInput(
            payout_id=payout.id,
            vendor_id=northwind.id,
            vendor_name=northwind.name,
            branch_id=payout.branch_id,
            amount_minor=payout.amount_minor,
            currency=payout.currency,
            needs_approval=True,
        ),
        workflow_id=payout_workflow_id(payout.id),
        branch_id=payout.branch_id,
    )


async def _vendor_order(session, branch, harbor: Vendor) -> None:
    """An order with the shop's desk lamp and Harbor Ceramics' bowl: two parcels, the bowl's
    for the vendor to ship. Its workflow is queued in the outbox (pays with the test card)."""
    lamp = await session.scalar(select(Product).where(Product.sku == "LAMP-DESK"))
    bowl = await session.scalar(
        select(Product).where(Product.sku == "HC-BOWL", Product.vendor_id == harbor.id)
    )
    if lamp is None or bowl is None:
        return
    order = await place_sample(
        session,
        actor=ACTOR,
        branch=branch,
        items=[(lamp.id, 1), (bowl.id, 1)],
        key="demo-vendor-parcel-order",
        email="marina@demo.customer",
        name="Marina Lopez",
        street="8 Wharf Street",
    )
    await checkout.queue_start(session, order, get_settings())
