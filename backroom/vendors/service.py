"""Marketplace vendors: onboarding through the approval gate, suspension, catalog moderation,
commission rules and the append-only vendor ledger. Payouts live in payouts.py.

Scope: every read or write that a vendor user makes passes `scope` (the user's vendor id, None
for staff); another vendor's record is a 404, so its existence is not revealed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.auth.models import User
from backroom.auth.principal_cache import bump_auth_version
from backroom.catalog import service as catalog
from backroom.catalog.models import Product, ProductStatus
from backroom.catalog.schemas import ProductCreate, ProductUpdate
from backroom.db.base import utcnow
from backroom.errors import NotFound, Refused
from backroom.orders.errors import OrderNotFound
from backroom.orders.models import Order, OrderLine, Parcel
from backroom.starts import service as starts
from backroom.vendors.errors import (
    ChangeNotFound,
    ChangeWrongState,
    VendorNameTaken,
    VendorNotFound,
    VendorWrongState,
)
from backroom.vendors.flow import (
    APPLICATION_WORKFLOW,
    MODERATION_WORKFLOW,
    GateDecision,
    GateInput,
    application_workflow_id,
    moderation_workflow_id,
)
from backroom.vendors.models import (
    ChangeStatus,
    CommissionRule,
    EntryKind,
    LedgerEntry,
    LineCommission,
    Payout,
    PayoutStatus,
    ProductChange,
    ShareStatus,
    Vendor,
    VendorShare,
    VendorStatus,
)
from backroom.vendors.schemas import (
    BalanceRead,
    CommissionRuleIn,
    VendorApply,
    VendorLineRead,
    VendorOrderRead,
    VendorParcelRead,
    VendorUpdate,
)

MODERATED = ("name", "description", "price_minor", "category", "tax_rate_bp")  # wait for a moderator
STAFF_ONLY = ("trusted", "return_window_days")


# ---- vendors ------------------------------------------------------------------------------


async def get_vendor(
    session: AsyncSession, vendor_id: int, *, scope: int | None = None, lock: bool = False
) -> Vendor:
    """One vendor; a vendor user finds only their own. Read-only; with `lock` its row stays
    locked to this transaction (PostgreSQL: FOR UPDATE), for a read-check-write."""
    vendor = await session.get(Vendor, vendor_id, with_for_update=True if lock else None)
    if vendor is None or (scope is not None and vendor.id != scope):
        raise VendorNotFound(f"Vendor {vendor_id} does not exist.")
    return vendor


async def list_vendors(
    session: AsyncSession, *, scope: int | None = None, status: str | None = None
) -> list[Vendor]:
    """Vendors by name (a vendor user sees only their own). Read-only."""
    stmt = select(Vendor).order_by(Vendor.name)
    if scope is not None:
        stmt = stmt.where(Vendor.id == scope)
    if status:
        stmt = stmt.where(Vendor.status == status)
    return list(await session.scalars(stmt))


async def names(session: AsyncSession, ids) -> dict[int, str]:
    """Vendor names by id, for pages that show who sells what. Read-only."""
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict((await session.execute(select(Vendor.id, Vendor.name).where(Vendor.id.in_(ids)))).all())


async def apply(
    session: AsyncSession, *, actor: Actor, data: VendorApply, branch_id: int, prefix: str = ""
) -> Vendor:
    """Record an application and ask a manager (the approval workflow is queued in the
    outbox). Not idempotent: the vendor name is unique, so a repeat raises VendorNameTaken."""
    if await session.scalar(select(Vendor.id).where(func.lower(Vendor.name) == data.name.lower())):
        raise VendorNameTaken(f"A vendor called {data.name} already exists.", field="name")
    vendor = Vendor(
        **data.model_dump(exclude={"branch_id"}),
        branch_id=branch_id,
        status=VendorStatus.APPLIED,
        created_by_id=actor.user_id,
    )
    session.add(vendor)
    await session.flush()
    vendor.approval_workflow_id = application_workflow_id(vendor.id, prefix)
    await starts.enqueue(
        session,
        run=APPLICATION_WORKFLOW,
        arg=GateInput(
            subject_id=vendor.id,
            branch_id=branch_id,
            title=f"Vendor application: {vendor.name} ({vendor.legal_name})",
            reason=f"Sells {', '.join(vendor.categories) or 'unspecified goods'}; tax id {vendor.tax_id}; "
            f"paid by {'Stripe transfer' if vendor.payout_method == 'stripe' else 'bank payout file'}.",
            requested_by_id=actor.user_id,
            requested_by_name=actor.name,
        ),
        workflow_id=vendor.approval_workflow_id,
        branch_id=branch_id,
    )
    await audit.record(
        session,
        actor=actor,
        action="vendor.apply",
        entity_type="vendor",
        entity_id=vendor.id,
        branch_id=branch_id,
        after=_redacted(vendor),
    )
    return vendor


def _redacted(vendor: Vendor) -> dict:
    """The audit snapshot without the bank account number."""
    snap = audit.snapshot(vendor)
    if snap.get("bank_iban"):
        snap["bank_iban"] = "…" + snap["bank_iban"][-4:]
    return snap


async def decide_application(session: AsyncSession, *, actor: Actor, decision: GateDecision) -> Vendor:
    """The application workflow's outcome. Idempotent: only an open application changes."""
    vendor = await get_vendor(session, decision.subject_id, lock=True)
    if vendor.status != VendorStatus.APPLIED:
        return vendor
    approved = decision.status == "approved"
    vendor.status = VendorStatus.APPROVED if approved else VendorStatus.REJECTED
    if approved:
        vendor.approved_at = utcnow()
        vendor.decision_note = f"Approved by {decision.decided_by_name}."
    else:
        who = f" by {decision.decided_by_name}" if decision.decided_by_name else ""
        vendor.decision_note = (
            f"Not approved ({decision.status}{who}): {decision.reason or 'no decision in time'}"
        )
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=f"vendor.{vendor.status}",
        entity_type="vendor",
        entity_id=vendor.id,
        branch_id=vendor.branch_id,
        before={"status": VendorStatus.APPLIED},
        after={"status": vendor.status, "reason": decision.reason},
    )
    return vendor


async def _move(
    session: AsyncSession,
    *,
    actor: Actor,
    vendor_id: int,
    frm: str,
    to: str,
    reason: str,
    listings: tuple[str, str],
) -> Vendor:
    vendor = await get_vendor(session, vendor_id, lock=True)
    if vendor.status == to:
        return vendor
    if vendor.status != frm:
        raise VendorWrongState(f"{vendor.name} is {vendor.status}; it cannot be {to}.")
    vendor.status, vendor.decision_note = to, reason
    hidden = await session.execute(
        update(Product)
        .where(Product.vendor_id == vendor.id, Product.status == listings[0])
        .values(status=listings[1])
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=f"vendor.{to}",
        entity_type="vendor",
        entity_id=vendor.id,
        branch_id=vendor.branch_id,
        before={"status": frm},
        after={"status": to, "reason": reason, "listings_changed": hidden.rowcount},
    )
    return vendor


async def suspend(session: AsyncSession, *, actor: Actor, vendor_id: int, reason: str) -> Vendor:
    """Hide the vendor's listings and freeze its payouts. Idempotent."""
    return await _move(
        session,
        actor=actor,
        vendor_id=vendor_id,
        frm=VendorStatus.APPROVED,
        to=VendorStatus.SUSPENDED,
        reason=reason,
        listings=(ProductStatus.ACTIVE, ProductStatus.SUSPENDED),
    )


async def reinstate(session: AsyncSession, *, actor: Actor, vendor_id: int, reason: str) -> Vendor:
    """List the vendor's products again and let payouts run. Idempotent."""
    return await _move(
        session,
        actor=actor,
        vendor_id=vendor_id,
        frm=VendorStatus.SUSPENDED,
        to=VendorStatus.APPROVED,
        reason=reason,
        listings=(ProductStatus.SUSPENDED, ProductStatus.ACTIVE),
    )


async def update_vendor(
    session: AsyncSession, *, actor: Actor, vendor_id: int, data: VendorUpdate, scope: int | None = None
) -> Vendor:
    """Change contact and payout details (a vendor user: its own, not trust or the window).
    Idempotent."""
    vendor = await get_vendor(session, vendor_id, scope=scope, lock=True)
    given = data.model_dump(exclude_unset=True)
    if scope is not None and any(k in given for k in STAFF_ONLY):
        raise Refused("Trust and the return window are set by the shop's staff.")
    changes = {k: v for k, v in given.items() if v is not None and getattr(vendor, k) != v}
    if not changes:
        return vendor
    before = _redacted(vendor)
    for k, v in changes.items():
        setattr(vendor, k, v)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="vendor.update",
        entity_type="vendor",
        entity_id=vendor.id,
        branch_id=vendor.branch_id,
        before=before,
        after=_redacted(vendor),
    )
    return vendor


async def bind_user(session: AsyncSession, *, actor: Actor, vendor_id: int, user_id: int) -> User:
    """Make a staff user a user of this vendor (sees only its records). Idempotent."""
    vendor = await get_vendor(session, vendor_id)
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.", field="user_id")
    if user.vendor_id != vendor.id:
        before = user.vendor_id
        user.vendor_id = vendor.id
        await session.flush()
        await bump_auth_version(session, user.id)
        await audit.record(
            session,
            actor=actor,
            action="vendor.bind_user",
            entity_type="user",
            entity_id=user.id,
            before={"vendor_id": before},
            after={"vendor_id": vendor.id},
        )
    return user


# ---- catalog moderation -------------------------------------------------------------------


async def _ask_moderator(
    session: AsyncSession, *, actor: Actor, vendor: Vendor, change: ProductChange, title: str, prefix: str
) -> None:
    change.workflow_id = moderation_workflow_id(change.id, prefix)
    await starts.enqueue(
        session,
        run=MODERATION_WORKFLOW,
        arg=GateInput(
            subject_id=change.id,
            branch_id=vendor.branch_id,
            title=title[:200],
            reason=", ".join(f"{k}: {v}" for k, v in change.proposed.items())[:500] or "new listing",
            requested_by_id=actor.user_id,
            requested_by_name=actor.name,
        ),
        workflow_id=change.workflow_id,
        branch_id=vendor.branch_id,
    )


async def create_product(
    session: AsyncSession, *, actor: Actor, vendor_id: int, data: ProductCreate, prefix: str = ""
) -> Product:
    """A vendor's new listing: on sale at once for a trusted vendor, otherwise after a catalog
    moderator approves it (workflow queued in the outbox). Not idempotent (the SKU is unique)."""
    vendor = await get_vendor(session, vendor_id)
    if vendor.status != VendorStatus.APPROVED:
        raise VendorWrongState(f"{vendor.name} is {vendor.status}: it cannot list products.")
    product = await catalog.create_product(
        session,
        actor=actor,
        data=data.model_copy(update={"currency": vendor.currency, "vendor_id": vendor.id}),
    )
    change = ProductChange(
        vendor_id=vendor.id,
        product_id=product.id,
        kind="new",
        proposed={k: v for k, v in data.model_dump().items() if k in (*MODERATED, "sku")},
        requested_by_id=actor.user_id,
    )
    session.add(change)
    if vendor.trusted:
        change.status, change.note = ChangeStatus.APPROVED, "Trusted vendor: listed at once."
        await session.flush()
        return product
    product.status = ProductStatus.PENDING
    await session.flush()
    await _ask_moderator(
        session,
        actor=actor,
        vendor=vendor,
        change=change,
        title=f"New listing from {vendor.name}: {product.name}",
        prefix=prefix,
    )
    return product


async def update_product(
    session: AsyncSession,
    *,
    actor: Actor,
    vendor_id: int,
    product_id: int,
    data: ProductUpdate,
    prefix: str = "",
) -> ProductChange | None:
    """A vendor's edit. Weight and sizes apply at once; name, description, category, price and
    tax of a listed product wait for a moderator (trusted vendors: at once). Returns the change
    waiting, if any. Idempotent for the same data (no second change is proposed)."""
    vendor = await get_vendor(session, vendor_id)
    product = await catalog.get_product(session, product_id, vendor_id=vendor.id)
    given = {
        k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None or k == "description"
    }
    changes = {k: v for k, v in given.items() if getattr(product, k) != v}
    if not changes:
        return None
    waiting = await session.scalar(
        select(ProductChange).where(
            ProductChange.product_id == product.id, ProductChange.status == ChangeStatus.PENDING
        )
    )
    moderated = {k: v for k, v in changes.items() if k in MODERATED}
    at_once = {k: v for k, v in changes.items() if k not in MODERATED}
    if vendor.trusted or product.status == ProductStatus.PENDING:
        # Not on sale yet (the pending new listing covers it), or trusted: apply everything.
        at_once, moderated = changes, {}
    if moderated and waiting is not None and waiting.proposed == {**waiting.proposed, **moderated}:
        return waiting  # the same change again
    if moderated and waiting is not None:
        raise ChangeWrongState(
            "A change to this product is waiting for the moderator; wait for the decision."
        )
    if at_once:
        await catalog.update_product(
            session, actor=actor, product_id=product.id, data=ProductUpdate(**at_once), vendor_id=vendor.id
        )
        if waiting is not None and waiting.kind == "new":
            waiting.proposed = {**waiting.proposed, **{k: v for k, v in at_once.items() if k in MODERATED}}
    if not moderated:
        return None
    change = ProductChange(
        vendor_id=vendor.id,
        product_id=product.id,
        kind="change",
        proposed=moderated,
        requested_by_id=actor.user_id,
    )
    session.add(change)
    await session.flush()
    await _ask_moderator(
        session,
        actor=actor,
        vendor=vendor,
        change=change,
        title=f"Listing change from {vendor.name}: {product.name}",
        prefix=prefix,
    )
    await audit.record(
        session,
        actor=actor,
        action="product.propose",
        entity_type="product",
        entity_id=product.id,
        before={k: getattr(product, k) for k in moderated},
        after=moderated,
    )
    return change


async def get_change(
    session: AsyncSession, change_id: int, *, scope: int | None = None, lock: bool = False
) -> ProductChange:
    change = await session.get(ProductChange, change_id, with_for_update=True if lock else None)
    if change is None or (scope is not None and change.vendor_id != scope):
        raise ChangeNotFound(f"Catalog change {change_id} does not exist.")
    return change


async def list_changes(
    session: AsyncSession, *, scope: int | None = None, status: str | None = None, limit: int = 200
) -> list[ProductChange]:
    """The moderation queue (oldest first) or a vendor's own changes. Read-only."""
    stmt = select(ProductChange).order_by(ProductChange.id)
    if scope is not None:
        stmt = stmt.where(ProductChange.vendor_id == scope)
    if status:
        stmt = stmt.where(ProductChange.status == status)
    return list(await session.scalars(stmt.limit(limit)))


async def decide_change(session: AsyncSession, *, actor: Actor, decision: GateDecision) -> ProductChange:
    """The moderation workflow's outcome: an approved new product goes on sale (hidden while the
    vendor is suspended), an approved change is applied; a refused one is noted. Idempotent."""
    change = await get_change(session, decision.subject_id, lock=True)
    if change.status != ChangeStatus.PENDING:
        return change
    product = await catalog.get_product(session, change.product_id)
    vendor = await get_vendor(session, change.vendor_id)
    approved = decision.status == "approved"
    change.status = ChangeStatus.APPROVED if approved else ChangeStatus.REJECTED
    change.decided_by_id = decision.decided_by_id
    who = decision.decided_by_name or "nobody in time"
    change.note = (
        f"Approved by {who}."
        if approved
        else f"Not approved ({decision.status}, {who}): {decision.reason or ''}"
    )
    before = {"status": product.status, **{k: getattr(product, k) for k in MODERATED}}
    if change.kind == "new" and product.status == ProductStatus.PENDING:
        if not approved:
            product.status = ProductStatus.REJECTED
        else:
            product.status = (
                ProductStatus.SUSPENDED if vendor.status == VendorStatus.SUSPENDED else ProductStatus.ACTIVE
            )
    elif change.kind == "change" and approved:
        for k, v in change.proposed.items():
            setattr(product, k, v)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=f"product.moderation_{change.status}",
        entity_type="product",
        entity_id=product.id,
        before=before,
        after={
            "status": product.status,
            **{k: getattr(product, k) for k in MODERATED},
            "reason": decision.reason,
        },
    )
    return change


# ---- commissions --------------------------------------------------------------------------


async def set_rule(session: AsyncSession, *, actor: Actor, data: CommissionRuleIn) -> CommissionRule:
    """Create or replace the rule for (vendor, category). Idempotent."""
    if data.vendor_id is not None:
        await get_vendor(session, data.vendor_id)
    rule = await session.scalar(
        select(CommissionRule).where(
            CommissionRule.vendor_id.is_(None)
            if data.vendor_id is None
            else CommissionRule.vendor_id == data.vendor_id,
            CommissionRule.category.is_(None)
            if data.category is None
            else CommissionRule.category == data.category,
        )
    )
    before = audit.snapshot(rule) if rule else None
    if rule is None:
        rule = CommissionRule(**data.model_dump())
        session.add(rule)
    else:
        for k, v in data.model_dump().items():
            setattr(rule, k, v)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="vendor.commission_rule",
        entity_type="commission_rule",
        entity_id=rule.id,
        before=before,
        after=audit.snapshot(rule),
    )
    return rule


async def list_rules(session: AsyncSession, *, scope: int | None = None) -> list[CommissionRule]:
    stmt = select(CommissionRule).order_by(CommissionRule.vendor_id, CommissionRule.category)
    if scope is not None:
        stmt = stmt.where((CommissionRule.vendor_id == scope) | CommissionRule.vendor_id.is_(None))
    return list(await session.scalars(stmt))


async def rule_for(session: AsyncSession, vendor_id: int, category: str) -> CommissionRule | None:
    """The most specific rule: vendor+category, vendor, category, default. Read-only."""
    rows = await session.scalars(
        select(CommissionRule).where(
            (CommissionRule.vendor_id == vendor_id) | CommissionRule.vendor_id.is_(None),
            (CommissionRule.category == category) | CommissionRule.category.is_(None),
        )
    )
    return max(rows, key=lambda r: (r.vendor_id is not None, r.category is not None), default=None)


def commission_of(gross_minor: int, percent_bp: int, fixed_minor: int) -> int:
    """Percent of the line (rounded half up) plus the fixed fee, never more than the line. Pure."""
    return min(gross_minor, (gross_minor * percent_bp + 5000) // 10000 + fixed_minor)


# ---- the ledger ---------------------------------------------------------------------------


async def post(
    session: AsyncSession,
    *,
    vendor_id: int,
    kind: EntryKind,
    amount_minor: int,
    currency: str,
    key: str,
    share_id: int | None = None,
    order_id: int | None = None,
    payout_id: int | None = None,
    note: str | None = None,
    actor: Actor | None = None,
) -> LedgerEntry | None:
    """Append one entry. Idempotent per key (a repeat returns None and writes nothing)."""
    if await session.scalar(select(LedgerEntry.id).where(LedgerEntry.key == key)):
        return None
    entry = LedgerEntry(
        vendor_id=vendor_id,
        kind=kind,
        amount_minor=amount_minor,
        currency=currency,
        key=key,
        share_id=share_id,
        order_id=order_id,
        payout_id=payout_id,
        note=note,
        created_by_id=actor.user_id if actor else None,
    )
    session.add(entry)
    await session.flush()
    return entry


async def adjust(
    session: AsyncSession, *, actor: Actor, vendor_id: int, amount_minor: int, reason: str, key: str
) -> LedgerEntry | None:
    """A manual adjustment (+ owed to the vendor, - owed by it). Idempotent per key."""
    vendor = await get_vendor(session, vendor_id)
    entry = await post(
        session,
        vendor_id=vendor.id,
        kind=EntryKind.ADJUSTMENT,
        amount_minor=amount_minor,
        currency=vendor.currency,
        key=key,
        note=reason,
        actor=actor,
    )
    if entry is not None:
        await audit.record(
            session,
            actor=actor,
            action="vendor.adjust",
            entity_type="vendor",
            entity_id=vendor.id,
            branch_id=vendor.branch_id,
            after={"amount_minor": amount_minor, "reason": reason},
        )
    return entry


async def ledger(session: AsyncSession, vendor_id: int, *, limit: int = 200) -> list[LedgerEntry]:
    rows = await session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.vendor_id == vendor_id)
        .order_by(LedgerEntry.id.desc())
        .limit(limit)
    )
    return list(rows)


async def balance(session: AsyncSession, vendor: Vendor) -> BalanceRead:
    """Pending (shares not yet payable) and payable (everything else, net of payouts already
    taken out) summed from the ledger; paid = payouts sent. Read-only."""
    held = case(
        (
            VendorShare.status.in_((ShareStatus.OPEN, ShareStatus.HELD, ShareStatus.DISPUTED)),
            LedgerEntry.amount_minor,
        ),
        else_=0,
    )
    total, pending = (
        await session.execute(
            select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0), func.coalesce(func.sum(held), 0))
            .select_from(LedgerEntry)
            .outerjoin(VendorShare, VendorShare.id == LedgerEntry.share_id)
            .where(LedgerEntry.vendor_id == vendor.id)
        )
    ).one()
    paid = await session.scalar(
        select(func.coalesce(func.sum(Payout.amount_minor), 0)).where(
            Payout.vendor_id == vendor.id, Payout.status == PayoutStatus.PAID
        )
    )
    return BalanceRead(
        currency=vendor.currency, pending_minor=pending, payable_minor=total - pending, paid_minor=paid
    )


def payable_at(delivered_at, window_days: int):
    return delivered_at + timedelta(days=window_days)


# ---- what a vendor sees of orders ----------------------------------------------------------


async def vendor_orders(session: AsyncSession, *, vendor_id: int, limit: int = 100) -> list[VendorOrderRead]:
    """The vendor's orders, newest first, as the vendor may see them. Read-only."""
    ids = await session.scalars(
        select(OrderLine.order_id)
        .where(OrderLine.vendor_id == vendor_id)
        .group_by(OrderLine.order_id)
        .order_by(OrderLine.order_id.desc())
        .limit(limit)
    )
    return [await vendor_order(session, order_id=i, vendor_id=vendor_id) for i in ids]


async def vendor_order(session: AsyncSession, *, order_id: int, vendor_id: int) -> VendorOrderRead:
    """One order as this vendor sees it; an order without its lines is a 404. Read-only."""
    lines = list(
        await session.scalars(
            select(OrderLine)
            .where(OrderLine.order_id == order_id, OrderLine.vendor_id == vendor_id)
            .order_by(OrderLine.id)
        )
    )
    if not lines:
        raise OrderNotFound(f"Order {order_id} does not exist.")
    order = await session.get(Order, order_id)
    parcel_ids = {ln.parcel_id for ln in lines if ln.parcel_id}
    parcels = (
        list(await session.scalars(select(Parcel).where(Parcel.id.in_(parcel_ids)).order_by(Parcel.id)))
        if parcel_ids
        else []
    )
    share = await session.scalar(
        select(VendorShare).where(VendorShare.order_id == order_id, VendorShare.vendor_id == vendor_id)
    )
    fees = await session.scalar(
        select(func.coalesce(func.sum(LineCommission.commission_minor), 0)).where(
            LineCommission.order_line_id.in_([ln.id for ln in lines])
        )
    )
    return VendorOrderRead(
        order_id=order.id,
        status=order.status,
        placed_at=order.placed_at,
        currency=order.currency,
        ship_name=order.ship_name,
        ship_line1=order.ship_line1,
        ship_city=order.ship_city,
        ship_postcode=order.ship_postcode,
        ship_country=order.ship_country,
        lines=[VendorLineRead.model_validate(ln) for ln in lines],
        parcels=[VendorParcelRead.model_validate(pc) for pc in parcels],
        sale_minor=sum(ln.line_total_minor for ln in lines),
        commission_minor=fees,
        share_status=share.status if share else None,
    )
