"""Each vendor's share of an order, from sale to payable, written into the vendor ledger.

placed    -> one share per vendor (open); per line: the commission terms snapshotted, a sale
             entry (+ line total) and a commission entry (- commission)
cancelled -> the open share is void and its entries reversed
delivered -> held; VendorShareHoldWorkflow sleeps until delivery + the vendor's return window
refunds   -> the vendor's part of what was refunded so far comes out of its share (refund and
             commission given back, pro rata); once the share is payable it is a clawback
window    -> payable (release)

The shop's discounts are the shop's: a vendor's sale is its lines' totals."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.db.base import utcnow
from backroom.orders.models import Order, OrderLine
from backroom.starts import service as starts
from backroom.vendors import service
from backroom.vendors.flow import SHARE_HOLD_WORKFLOW, ShareHoldInput, share_workflow_id
from backroom.vendors.models import EntryKind, LedgerEntry, LineCommission, ShareStatus, Vendor, VendorShare


async def shares_of(session: AsyncSession, order_id: int) -> list[VendorShare]:
    return list(await session.scalars(select(VendorShare).where(VendorShare.order_id == order_id)))


async def open_shares(session: AsyncSession, *, actor: Actor, order: Order) -> list[VendorShare]:
    """Snapshot commissions and post the sale for every vendor line. Idempotent (keys per line)."""
    lines = list(
        await session.scalars(
            select(OrderLine).where(OrderLine.order_id == order.id, OrderLine.vendor_id.is_not(None))
        )
    )
    shares: dict[int, VendorShare] = {s.vendor_id: s for s in await shares_of(session, order.id)}
    from backroom.catalog.models import Product

    for line in lines:
        share = shares.get(line.vendor_id)
        if share is None:
            share = VendorShare(
                order_id=order.id,
                vendor_id=line.vendor_id,
                branch_id=order.branch_id,
                currency=order.currency,
                status=ShareStatus.OPEN,
            )
            session.add(share)
            await session.flush()
            shares[line.vendor_id] = share
        if await session.scalar(select(LineCommission.id).where(LineCommission.order_line_id == line.id)):
            continue
        category = await session.scalar(select(Product.category).where(Product.id == line.product_id))
        rule = await service.rule_for(session, line.vendor_id, category or "")
        pct, fixed = (rule.percent_bp, rule.fixed_minor) if rule else (0, 0)
        fee = service.commission_of(line.line_total_minor, pct, fixed)
        session.add(
            LineCommission(
                order_line_id=line.id,
                share_id=share.id,
                rule_id=rule.id if rule else None,
                gross_minor=line.line_total_minor,
                percent_bp=pct,
                fixed_minor=fixed,
                commission_minor=fee,
            )
        )
        common = {
            "vendor_id": line.vendor_id,
            "currency": order.currency,
            "share_id": share.id,
            "order_id": order.id,
        }
        await service.post(
            session,
            kind=EntryKind.SALE,
            amount_minor=line.line_total_minor,
            key=f"sale:{line.id}",
            note=f"{line.qty} × {line.name}",
            actor=actor,
            **common,
        )
        if fee:
            await service.post(
                session,
                kind=EntryKind.COMMISSION,
                amount_minor=-fee,
                key=f"commission:{line.id}",
                note=f"{pct / 100:g} % + {fixed} on {line.name}",
                actor=actor,
                **common,
            )
    await session.flush()
    return list(shares.values())


async def _net(session: AsyncSession, share: VendorShare, *kinds: EntryKind) -> int:
    return await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0)).where(
            LedgerEntry.share_id == share.id, LedgerEntry.kind.in_(kinds)
        )
    )


async def void_shares(session: AsyncSession, *, actor: Actor, order: Order, key: str) -> None:
    """An order cancelled before delivery: reverse each open share. Idempotent per event key."""
    for share in await shares_of(session, order.id):
        if share.status != ShareStatus.OPEN:
            continue
        await _reverse(session, actor=actor, share=share, fraction=(1, 1), key=key, kind=EntryKind.REFUND)
        share.status = ShareStatus.VOID
    await session.flush()


async def _reverse(
    session: AsyncSession,
    *,
    actor: Actor,
    share: VendorShare,
    fraction: tuple[int, int],
    key: str,
    kind: EntryKind,
) -> None:
    """Bring the share's refunds to `fraction` of its sales (and commissions likewise)."""
    num, den = fraction
    sales = await _net(session, share, EntryKind.SALE)
    fees = await _net(session, share, EntryKind.COMMISSION)
    refunded = await _net(session, share, EntryKind.REFUND, EntryKind.CLAWBACK)
    target = -min(sales, sales * num // den)
    delta = target - refunded
    if delta >= 0:
        return
    # The commission goes back in the same proportion as the sale (fees are negative).
    fee_back = (-fees) * (-delta) // sales if sales else 0  # rounded down: the shop keeps a part cent
    common = {
        "vendor_id": share.vendor_id,
        "currency": share.currency,
        "share_id": share.id,
        "order_id": share.order_id,
    }
    await service.post(
        session, kind=kind, amount_minor=delta, key=f"{kind}:{key}:{share.id}", actor=actor, **common
    )
    if fee_back:
        await service.post(
            session,
            kind=EntryKind.COMMISSION,
            amount_minor=fee_back,
            key=f"commission-back:{key}:{share.id}",
            note="Commission given back on the refunded part",
            actor=actor,
            **common,
        )


async def refund_shares(session: AsyncSession, *, actor: Actor, order: Order, key: str) -> None:
    """The order's refunds so far, split over its vendors by their part of the order total.
    Inside the window it reduces the held share; after it, it is a clawback. Idempotent."""
    if not order.total_minor:
        return
    for share in await shares_of(session, order.id):
        if share.status == ShareStatus.VOID:
            continue
        kind = EntryKind.CLAWBACK if share.status == ShareStatus.PAYABLE else EntryKind.REFUND
        await _reverse(
            session,
            actor=actor,
            share=share,
            fraction=(min(order.refunded_minor, order.total_minor), order.total_minor),
            key=key,
            kind=kind,
        )
    await session.flush()


async def hold_shares(session: AsyncSession, *, actor: Actor, order: Order, prefix: str = "") -> None:
    """Delivered: each open share is held until delivery + its vendor's return window (one
    durable timer each, queued in the outbox). Idempotent."""
    now = utcnow()
    for share in await shares_of(session, order.id):
        if share.status != ShareStatus.OPEN:
            continue
        vendor = await session.get(Vendor, share.vendor_id)
        share.status, share.delivered_at = ShareStatus.HELD, now
        share.payable_at = service.payable_at(now, vendor.return_window_days)
        await starts.enqueue(
            session,
            run=SHARE_HOLD_WORKFLOW,
            arg=ShareHoldInput(share_id=share.id, payable_at=share.payable_at),
            workflow_id=share_workflow_id(share.id, prefix),
            branch_id=share.branch_id,
            order_id=order.id,
        )
    await session.flush()


async def freeze_shares(session: AsyncSession, *, actor: Actor, order: Order) -> int:
    """The order's card payment is disputed: its vendor shares stop counting as payable until the
    dispute closes (a payout run skips them). Returns how many were frozen. Idempotent."""
    frozen = 0
    for share in await shares_of(session, order.id):
        if share.status in (ShareStatus.OPEN, ShareStatus.HELD, ShareStatus.PAYABLE):
            before = share.status
            share.status = ShareStatus.DISPUTED
            frozen += 1
            await audit.record(
                session,
                actor=actor,
                action="vendor_share.freeze",
                entity_type="vendor_share",
                entity_id=share.id,
                branch_id=share.branch_id,
                before={"status": before},
                after={"status": share.status},
            )
    await session.flush()
    return frozen


async def thaw_shares(session: AsyncSession, *, actor: Actor, order: Order) -> None:
    """The dispute closed: frozen shares go back to where their dates put them (open before
    delivery, held inside the return window, payable after). Idempotent."""
    now = utcnow()
    for share in await shares_of(session, order.id):
        if share.status != ShareStatus.DISPUTED:
            continue
        if share.delivered_at is None:
            share.status = ShareStatus.OPEN
        elif share.payable_at is not None and share.payable_at > now:
            share.status = ShareStatus.HELD
        else:
            share.status = ShareStatus.PAYABLE
        await audit.record(
            session,
            actor=actor,
            action="vendor_share.thaw",
            entity_type="vendor_share",
            entity_id=share.id,
            branch_id=share.branch_id,
            before={"status": ShareStatus.DISPUTED},
            after={"status": share.status},
        )
    await session.flush()


async def release(session: AsyncSession, *, share_id: int) -> str:
    """The return window has passed: the share becomes payable. Idempotent."""
    share = await session.get(VendorShare, share_id)
    if share is None:
        return "missing"
    if share.status == ShareStatus.HELD:
        share.status = ShareStatus.PAYABLE
        await session.flush()
    return share.status
