"""Marketplace vendors API: vendors (apply, read, update, suspend, reinstate, users), their
ledger and balance, catalog changes waiting for moderation, commission rules, payouts, and the
vendor's view of its orders. A vendor user reaches only its own vendor's records (others: 404)."""

from __future__ import annotations

from typing import Annotated
from uuid import uuid4

from fastapi import APIRouter
from pydantic import ConfigDict, Field, WithJsonSchema

from api.deps import READS_ONLY, Session, SettingsDep, TemporalFactory, require
from api.params import Id
from backroom.auth.principal import Principal
from backroom.db.base import utcnow
from backroom.errors import Forbidden, Refused
from backroom.inputs import Input
from backroom.orders.schemas import PackBody
from backroom.vendors import parcels, payouts, service, statements
from backroom.vendors.models import ChangeStatus
from backroom.vendors.schemas import (
    AdjustmentIn,
    CommissionRuleIn,
    CommissionRuleRead,
    LedgerEntryRead,
    PayoutRead,
    PayoutRunIn,
    PayoutRunRead,
    ProductChangeRead,
    Reason,
    StatementRead,
    VendorApply,
    VendorDetail,
    VendorOrderRead,
    VendorRead,
    VendorUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["vendors"])


class UserLink(Input):
    model_config = ConfigDict(extra="forbid")
    user_id: int = Field(ge=1)


async def _detail(session, vendor) -> VendorDetail:
    return VendorDetail(
        **VendorRead.model_validate(vendor).model_dump(), balance=await service.balance(session, vendor)
    )


async def _managed(session, p: Principal, vendor_id: int, action: str):
    """The vendor, if the caller holds (vendors, action) in its branch (staff only)."""
    vendor = await service.get_vendor(session, vendor_id, scope=p.vendor_id)
    p.require("vendors", action, branch_id=vendor.branch_id)
    return vendor


def _scope_for(p: Principal, vendor_id: int | None) -> int:
    """Which vendor's records: a vendor user's own, or the one staff asked for."""
    if p.vendor_id is not None:
        return p.vendor_id
    if vendor_id is None:
        # Whether it is needed depends on the caller (a vendor user's own is implied), which
        # the document cannot say: a refusal (409), not a malformed request.
        raise Refused("Say which vendor (vendor_id).", field="vendor_id")
    return vendor_id


@router.get("/vendors")
async def list_vendors(
    session: Session, status: str | None = None, p: Principal = require("vendors", "list")
) -> list[VendorRead]:
    """Vendors by name (a vendor user: only its own). Read-only."""
    rows = await service.list_vendors(session, scope=p.vendor_id, status=status)
    return [VendorRead.model_validate(v) for v in rows]


@router.post("/vendors", status_code=201)
async def apply(
    session: Session, settings: SettingsDep, body: VendorApply, p: Principal = require("vendors", "create")
) -> VendorRead:
    """Enter a vendor's application; a manager of the branch approves it in the inbox."""
    if p.vendor_id is not None:
        raise Forbidden("A vendor's users cannot apply for another vendor.")
    branch_id = body.branch_id or min(p.branch_ids("vendors", "create") or {1})
    p.require("vendors", "create", branch_id=branch_id)
    vendor = await service.apply(
        session, actor=p.actor(), data=body, branch_id=branch_id, prefix=settings.workflow_prefix
    )
    return VendorRead.model_validate(vendor)


@router.get("/vendors/{vendor_id:id}")
async def get_vendor(
    session: Session, vendor_id: Id, p: Principal = require("vendors", "read")
) -> VendorDetail:
    """The vendor with its balance (pending, payable, paid). Read-only."""
    return await _detail(session, await service.get_vendor(session, vendor_id, scope=p.vendor_id))


@router.patch("/vendors/{vendor_id:id}")
async def update_vendor(
    session: Session, vendor_id: Id, body: VendorUpdate, p: Principal = require("vendors", "update")
) -> VendorDetail:
    """Change contact and payout details (staff: also trust and the return window)."""
    if p.vendor_id is None:
        await _managed(session, p, vendor_id, "update")
    vendor = await service.update_vendor(
        session, actor=p.actor(), vendor_id=vendor_id, data=body, scope=p.vendor_id
    )
    return await _detail(session, vendor)


@router.post("/vendors/{vendor_id:id}/suspend")
async def suspend(
    session: Session, vendor_id: Id, body: Reason, p: Principal = require("vendors", "approve")
) -> VendorDetail:
    """Hide the vendor's listings and freeze its payouts (audited)."""
    await _managed(session, p, vendor_id, "approve")
    return await _detail(
        session, await service.suspend(session, actor=p.actor(), vendor_id=vendor_id, reason=body.reason)
    )


@router.post("/vendors/{vendor_id:id}/reinstate")
async def reinstate(
    session: Session, vendor_id: Id, body: Reason, p: Principal = require("vendors", "approve")
) -> VendorDetail:
    """List the vendor's products again and let payouts run (audited)."""
    await _managed(session, p, vendor_id, "approve")
    return await _detail(
        session, await service.reinstate(session, actor=p.actor(), vendor_id=vendor_id, reason=body.reason)
    )


@router.post("/vendors/{vendor_id:id}/users", status_code=204)
async def bind_user(
    session: Session, vendor_id: Id, body: UserLink, p: Principal = require("vendors", "approve")
) -> None:
    """Make a user one of this vendor's users (they then see only its records)."""
    await _managed(session, p, vendor_id, "approve")
    await service.bind_user(session, actor=p.actor(), vendor_id=vendor_id, user_id=body.user_id)


@router.get("/vendors/{vendor_id:id}/ledger")
async def ledger(
    session: Session, vendor_id: Id, p: Principal = require("vendors", "read")
) -> list[LedgerEntryRead]:
    """The vendor's ledger, newest first. Read-only."""
    vendor = await service.get_vendor(session, vendor_id, scope=p.vendor_id)
    return [LedgerEntryRead.model_validate(e) for e in await service.ledger(session, vendor.id)]


@router.post("/vendors/{vendor_id:id}/adjustments", status_code=201)
async def adjust(
    session: Session, vendor_id: Id, body: AdjustmentIn, p: Principal = require("vendors", "post")
) -> VendorDetail:
    """Post a manual adjustment to the vendor's ledger (+ owed to it, - owed by it)."""
    vendor = await _managed(session, p, vendor_id, "post")
    await service.adjust(
        session,
        actor=p.actor(),
        vendor_id=vendor.id,
        amount_minor=body.amount_minor,
        reason=body.reason,
        key=f"adjust:{vendor.id}:{p.request_id or uuid4().hex}",
    )
    return await _detail(session, vendor)


@router.get("/vendor-orders")
async def vendor_orders(
    session: Session, vendor_id: int | None = None, p: Principal = require("vendors", "read")
) -> list[VendorOrderRead]:
    """A vendor's orders: its own lines and parcels, where to ship, no customer contact. Read-only."""
    scope = _scope_for(p, vendor_id)
    await service.get_vendor(session, scope, scope=p.vendor_id)
    return await service.vendor_orders(session, vendor_id=scope)


@router.get("/vendor-orders/{order_id:id}")
async def vendor_order(
    session: Session, order_id: Id, vendor_id: int | None = None, p: Principal = require("vendors", "read")
) -> VendorOrderRead:
    """One order as the vendor sees it. Read-only."""
    return await service.vendor_order(session, order_id=order_id, vendor_id=_scope_for(p, vendor_id))


@router.post("/vendor-orders/{order_id:id}/parcels/{parcel_id:id}/{step}", dependencies=[READS_ONLY])
async def vendor_parcel_step(
    session: Session,
    settings: SettingsDep,
    connect: TemporalFactory,
    order_id: Id,
    parcel_id: Id,
    step: parcels.VendorStep,
    body: PackBody | None = None,
    p: Principal = require("vendors", "submit"),
) -> VendorOrderRead:
    """A vendor user picks, packs (with the serial number of each serial-tracked unit), buys the
    label for, or ships one of its own parcels; another vendor's (or the shop's) parcel is a
    404, a step out of turn a 409. Answers with the order as the vendor sees it."""
    serials = body.serials if body else None
    return await parcels.step(
        session,
        connect,
        p=p,
        order_id=order_id,
        parcel_id=parcel_id,
        step=step,
        prefix=settings.workflow_prefix,
        serials=serials,
    )


@router.get("/vendor-product-changes")
async def product_changes(
    session: Session, status: ChangeStatus | None = None, p: Principal = require("vendors", "list")
) -> list[ProductChangeRead]:
    """The moderation queue (staff) or the vendor's own listing changes. Read-only."""
    rows = await service.list_changes(session, scope=p.vendor_id, status=status)
    return [ProductChangeRead.model_validate(c) for c in rows]


@router.get("/vendor-product-changes/{change_id:id}")
async def product_change(
    session: Session, change_id: Id, p: Principal = require("vendors", "read")
) -> ProductChangeRead:
    return ProductChangeRead.model_validate(await service.get_change(session, change_id, scope=p.vendor_id))


@router.get("/vendor-commission-rules")
async def rules(session: Session, p: Principal = require("vendors", "list")) -> list[CommissionRuleRead]:
    """Commission rules (a vendor user: the default ones and its own). Read-only."""
    return [
        CommissionRuleRead.model_validate(r) for r in await service.list_rules(session, scope=p.vendor_id)
    ]


@router.put("/vendor-commission-rules")
async def set_rule(
    session: Session, body: CommissionRuleIn, p: Principal = require("vendors", "approve")
) -> CommissionRuleRead:
    """Create or replace the rule for (vendor, category); new orders snapshot it."""
    if p.vendor_id is not None:
        raise Forbidden("Commission rules are set by the shop.")
    return CommissionRuleRead.model_validate(await service.set_rule(session, actor=p.actor(), data=body))


@router.get("/vendor-payouts")
async def list_payouts(
    session: Session, status: str | None = None, p: Principal = require("vendors", "list")
) -> list[PayoutRead]:
    """Payouts, newest first (a vendor user: its own). Read-only."""
    return [
        PayoutRead.model_validate(x)
        for x in await payouts.list_payouts(session, scope=p.vendor_id, status=status)
    ]


@router.post("/vendor-payouts/runs", status_code=202)
async def run_payouts(
    session: Session, settings: SettingsDep, body: PayoutRunIn, p: Principal = require("vendors", "approve")
) -> PayoutRunRead:
    """Start a payout run now, besides the weekly one: each approved vendor's payable balance
    becomes one payout (finance approves above VENDOR_PAYOUT_APPROVAL_OVER_MINOR). Each call
    is a new run; a vendor with nothing payable gets nothing."""
    if p.vendor_id is not None:
        raise Forbidden("Payouts are run by the shop.")
    return PayoutRunRead(
        run_key=await payouts.run_now(
            session, actor=p.actor(), reason=body.reason, prefix=settings.workflow_prefix
        )
    )


@router.get("/vendors/{vendor_id:id}/statement")
async def statement(
    session: Session,
    vendor_id: Id,
    month: Annotated[str, WithJsonSchema({"type": "string", "pattern": statements.MONTH})] | None = None,
    p: Principal = require("vendors", "read"),
) -> StatementRead:
    """The vendor's statement for a calendar month (`2026-11`; default this month, UTC):
    opening balance, the month's ledger lines, totals by kind, closing balance. Read-only."""
    vendor = await service.get_vendor(session, vendor_id, scope=p.vendor_id)
    st = await statements.statement(session, vendor, statements.month_of(month, utcnow().date()))
    return StatementRead(
        vendor_id=vendor.id,
        vendor=vendor.name,
        month=f"{st.month:%Y-%m}",
        currency=vendor.currency,
        opening_minor=st.opening_minor,
        totals=st.totals,
        closing_minor=st.closing_minor,
        lines=[LedgerEntryRead.model_validate(e) for e in st.lines],
    )


@router.get("/vendor-payouts/{payout_id:id}")
async def get_payout(
    session: Session, payout_id: Id, p: Principal = require("vendors", "read")
) -> PayoutRead:
    return PayoutRead.model_validate(await payouts.get_payout(session, payout_id, scope=p.vendor_id))
