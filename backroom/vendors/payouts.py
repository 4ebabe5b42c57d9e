"""Payouts: one per vendor per payout run, taken out of the payable balance when created (a
payout ledger entry), then sent as a Stripe Connect transfer or a line of the run's payout file
(CSV, for bank vendors). A rejected or frozen payout gives the money back (a reversing payout
entry); the ledger is never edited.

Exactly once: the payout row is unique per (vendor, run); the transfer's idempotency key is
`vendor-payout-{id}-{account}`, so a retry after a crash gets Stripe's first answer back, not a second
transfer."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.db.base import utcnow
from backroom.starts import service as starts
from backroom.vendors import service
from backroom.vendors.errors import PayoutNotFound
from backroom.vendors.flow import PAYOUT_RUN_WORKFLOW, PayoutRunInput
from backroom.vendors.models import EntryKind, Payout, PayoutMethod, PayoutStatus, Vendor, VendorStatus

OPEN = (PayoutStatus.PENDING_APPROVAL, PayoutStatus.APPROVED)


def transfer_key(payout_id: int, destination: str | None = None) -> str:
    """The transfer's idempotency key (and the payout file's reference): the payout id, plus the
    connected account, so that a database restored or rebuilt with the same ids cannot replay
    another vendor's transfer."""
    return f"vendor-payout-{payout_id}" + (f"-{destination}" if destination else "")


async def get_payout(
    session: AsyncSession, payout_id: int, *, scope: int | None = None, lock: bool = False
) -> Payout:
    payout = await session.get(Payout, payout_id, with_for_update=True if lock else None)
    if payout is None or (scope is not None and payout.vendor_id != scope):
        raise PayoutNotFound(f"Payout {payout_id} does not exist.")
    return payout


async def list_payouts(
    session: AsyncSession, *, scope: int | None = None, status: str | None = None, limit: int = 200
) -> list[Payout]:
    stmt = select(Payout).order_by(Payout.id.desc())
    if scope is not None:
        stmt = stmt.where(Payout.vendor_id == scope)
    if status:
        stmt = stmt.where(Payout.status == status)
    return list(await session.scalars(stmt.limit(limit)))


async def payable_vendors(session: AsyncSession) -> list[int]:
    """Approved vendors (a suspended one's money stays frozen). Read-only."""
    return list(
        await session.scalars(
            select(Vendor.id).where(Vendor.status == VendorStatus.APPROVED).order_by(Vendor.id)
        )
    )


async def create_payout(
    session: AsyncSession, *, actor: Actor, run_key: str, vendor_id: int, approval_over_minor: int
) -> Payout | None:
    """Take the vendor's payable balance out as this run's payout. Idempotent per (vendor,
    run): a repeat returns the same payout. None when there is nothing to pay or the vendor is
    not approved."""
    # The vendor's row first: one payout at a time takes its balance out.
    vendor = await service.get_vendor(session, vendor_id, lock=True)
    existing = await session.scalar(
        select(Payout).where(Payout.vendor_id == vendor_id, Payout.run_key == run_key)
    )
    if existing is not None:
        return existing
    if vendor.status != VendorStatus.APPROVED:
        return None
    amount = (await service.balance(session, vendor)).payable_minor
    if amount <= 0:
        return None
    payout = Payout(
        vendor_id=vendor.id,
        run_key=run_key,
        amount_minor=amount,
        currency=vendor.currency,
        method=vendor.payout_method,
        status=PayoutStatus.PENDING_APPROVAL if amount > approval_over_minor else PayoutStatus.APPROVED,
        branch_id=vendor.branch_id,
    )
    session.add(payout)
    await session.flush()
    await service.post(
        session,
        vendor_id=vendor.id,
        kind=EntryKind.PAYOUT,
        amount_minor=-amount,
        currency=vendor.currency,
        key=f"payout:{payout.id}",
        payout_id=payout.id,
        note=f"Payout run {run_key}",
        actor=actor,
    )
    await audit.record(
        session,
        actor=actor,
        action="vendor.payout_create",
        entity_type="vendor_payout",
        entity_id=payout.id,
        branch_id=payout.branch_id,
        after=audit.snapshot(payout),
    )
    return payout


async def _close(session: AsyncSession, *, actor: Actor, payout: Payout, status: str, note: str) -> Payout:
    """Rejected or frozen: the money goes back to the payable balance. Idempotent."""
    if payout.status not in OPEN:
        return payout
    before = payout.status
    payout.status, payout.note = status, note
    await service.post(
        session,
        vendor_id=payout.vendor_id,
        kind=EntryKind.PAYOUT,
        amount_minor=payout.amount_minor,
        currency=payout.currency,
        key=f"payout-back:{payout.id}",
        payout_id=payout.id,
        note=f"Payout {status}: {note}",
        actor=actor,
    )
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=f"vendor.payout_{status}",
        entity_type="vendor_payout",
        entity_id=payout.id,
        branch_id=payout.branch_id,
        before={"status": before},
        after={"status": status, "note": note},
    )
    return payout


async def decide(
    session: AsyncSession, *, actor: Actor, payout_id: int, status: str, reason: str | None
) -> Payout:
    """Finance's decision on a payout above the threshold. Idempotent."""
    payout = await get_payout(session, payout_id, lock=True)
    if payout.status != PayoutStatus.PENDING_APPROVAL:
        return payout
    if status == "approved":
        payout.status = PayoutStatus.APPROVED
        await session.flush()
        await audit.record(
            session,
            actor=actor,
            action="vendor.payout_approved",
            entity_type="vendor_payout",
            entity_id=payout.id,
            branch_id=payout.branch_id,
            before={"status": PayoutStatus.PENDING_APPROVAL},
            after={"status": payout.status},
        )
        return payout
    return await _close(
        session,
        actor=actor,
        payout=payout,
        status=PayoutStatus.REJECTED,
        note=f"{status}: {reason or 'no decision'}",
    )


async def ready_to_send(
    session: AsyncSession, *, actor: Actor, payout_id: int
) -> tuple[Payout, Vendor] | None:
    """The payout and its vendor if it may be sent now; a suspended vendor's payout is frozen
    (money back in the balance) and None returned. Idempotent."""
    payout = await get_payout(session, payout_id, lock=True)
    if payout.status != PayoutStatus.APPROVED:
        return None
    vendor = await service.get_vendor(session, payout.vendor_id)
    if vendor.status != VendorStatus.APPROVED:
        await _close(
            session, actor=actor, payout=payout, status=PayoutStatus.FROZEN, note=f"vendor {vendor.status}"
        )
        return None
    return payout, vendor


async def mark_paid(
    session: AsyncSession,
    *,
    actor: Actor,
    payout_id: int,
    transfer_id: str | None,
    var_dir: Path | None = None,
) -> Payout:
    """Record the transfer (or the payout-file line for a bank vendor). Idempotent."""
    payout = await get_payout(session, payout_id, lock=True)
    if payout.status == PayoutStatus.PAID:
        return payout
    payout.status, payout.transfer_id, payout.paid_at = PayoutStatus.PAID, transfer_id, utcnow()
    if payout.method == PayoutMethod.BANK and var_dir is not None:
        payout.file_path = str(payout_file(var_dir, payout.run_key))
    await session.flush()
    if payout.method == PayoutMethod.BANK and var_dir is not None:
        await write_payout_file(session, var_dir=var_dir, run_key=payout.run_key)
    await audit.record(
        session,
        actor=actor,
        action="vendor.payout_paid",
        entity_type="vendor_payout",
        entity_id=payout.id,
        branch_id=payout.branch_id,
        before={"status": PayoutStatus.APPROVED},
        after={"status": payout.status, "transfer_id": transfer_id, "file": payout.file_path},
    )
    return payout


def payout_file(var_dir: Path, run_key: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in run_key)
    return Path(var_dir) / "payouts" / f"payouts-{safe}.csv"


async def write_payout_file(session: AsyncSession, *, var_dir: Path, run_key: str) -> Path:
    """(Re)write the run's manual payout file from the bank payouts recorded as paid: one line
    per vendor. Idempotent (the file is derived from the rows)."""
    rows = (
        await session.execute(
            select(Payout, Vendor)
            .join(Vendor, Vendor.id == Payout.vendor_id)
            .where(
                Payout.run_key == run_key,
                Payout.method == PayoutMethod.BANK,
                Payout.status == PayoutStatus.PAID,
            )
            .order_by(Payout.id)
        )
    ).all()
    path = payout_file(var_dir, run_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["payout_id", "vendor", "account_name", "iban", "amount", "currency", "reference"])
        for payout, vendor in rows:
            out.writerow(
                [
                    payout.id,
                    vendor.legal_name,
                    vendor.bank_account_name,
                    vendor.bank_iban,
                    f"{payout.amount_minor / 100:.2f}",
                    payout.currency,
                    transfer_key(payout.id),
                ]
            )
    return path


async def run_now(session: AsyncSession, *, actor: Actor, reason: str, prefix: str = "") -> str:
    """Start a payout run now, besides the weekly schedule (queued in the outbox with the
    caller's transaction): every approved vendor's payable balance becomes one payout of run
    `manual-<time>`, sent as the weekly ones are (finance approves above the threshold).
    Returns the run key. Not idempotent: each call is a new run (an empty one pays nothing)."""
    now = utcnow()
    run_key = f"manual-{now:%Y%m%dT%H%M%S%f}"
    await starts.enqueue(
        session,
        run=PAYOUT_RUN_WORKFLOW,
        arg=PayoutRunInput(at=now, run_key=run_key),
        workflow_id=f"{prefix}vendor-payout-run-{run_key}",
    )
    await audit.record(
        session,
        actor=actor,
        action="vendor.payout_run",
        entity_type="vendor_payout_run",
        entity_id=run_key,
        after={"run_key": run_key, "reason": reason, "payable_vendors": len(await payable_vendors(session))},
    )
    return run_key
