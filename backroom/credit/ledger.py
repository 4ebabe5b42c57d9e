"""Credit accounts: the append-only ledger, credit sales and holds, aging, statements, overdue holds.

The account balance is only ever changed together with a new ledger line (same transaction),
so sum(entries) == balance holds by construction; tests check it with hypothesis."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.credit import events as credit_events
from backroom.credit.errors import CreditAccountNotFound, CurrencyMismatch
from backroom.credit.flow import hold_workflow_id
from backroom.credit.models import (
    CreditAccount,
    CreditEntry,
    CreditHold,
    EntryKind,
    HoldResolution,
    HoldStatus,
)
from backroom.customers.models import Customer
from backroom.db.base import utcnow
from backroom.db.session import is_postgres
from backroom.errors import InvalidInput, Refused, not_found
from backroom.notifications import service as notify

# Sign of each kind: sales raise what the customer owes; payments and goodwill lower it.
SIGNS = {EntryKind.sale: 1, EntryKind.payment: -1, EntryKind.goodwill: -1, EntryKind.refund: -1}
BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")


@dataclass
class AccountView:
    account: CreditAccount
    customer_name: str
    limit_minor: int
    held_minor: int

    @property
    def balance_minor(self) -> int:
        return self.account.balance_minor

    @property
    def available_minor(self) -> int:
        return self.limit_minor - self.account.balance_minor - self.held_minor

    def as_dict(self) -> dict:
        a = self.account
        return {
            "id": a.id,
            "customer_id": a.customer_id,
            "customer_name": self.customer_name,
            "currency": a.currency,
            "limit_minor": self.limit_minor,
            "balance_minor": a.balance_minor,
            "held_minor": self.held_minor,
            "available_minor": self.available_minor,
            "terms_days": a.terms_days,
            "grace_days": a.grace_days,
            "on_hold": a.on_hold,
            "hold_reason": a.hold_reason,
            "branch_id": a.branch_id,
        }


async def _customer(session: AsyncSession, customer_id: int) -> Customer:
    customer = await session.get(Customer, customer_id)
    if not customer:
        raise not_found("Customer", customer_id)
    return customer


async def account_for(session: AsyncSession, customer_id: int, *, lock: bool = False) -> CreditAccount | None:
    stmt = select(CreditAccount).where(CreditAccount.customer_id == customer_id)
    if lock and is_postgres(session):
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def _locked(session: AsyncSession, account_id: int) -> CreditAccount:
    stmt = select(CreditAccount).where(CreditAccount.id == account_id)
    if is_postgres(session):
        # Serializes postings per account so balance_after is computed from the true balance.
        stmt = stmt.with_for_update()
    account = await session.scalar(stmt.execution_options(populate_existing=True))
    if not account:
        raise CreditAccountNotFound(f"Credit account {account_id} does not exist")
    return account


async def open_account(
    session: AsyncSession, *, actor: Actor, customer_id: int, terms_days: int = 30, grace_days: int = 5
) -> CreditAccount:
    """Open the customer's credit account. Idempotent: returns the existing one."""
    existing = await account_for(session, customer_id)
    if existing:
        return existing
    customer = await _customer(session, customer_id)
    account = CreditAccount(
        customer_id=customer_id,
        currency=customer.currency,
        branch_id=customer.home_branch_id,
        terms_days=terms_days,
        grace_days=grace_days,
        balance_minor=0,
        created_by_id=actor.user_id,
        shift_id=actor.shift_id,
    )
    session.add(account)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="credit_account.open",
        entity_type="credit_account",
        entity_id=account.id,
        branch_id=account.branch_id,
        after=audit.snapshot(account),
    )
    return account


async def update_terms(
    session: AsyncSession, *, actor: Actor, account_id: int, terms_days: int, grace_days: int
) -> CreditAccount:
    """Change payment terms and grace days. Idempotent."""
    account = await _locked(session, account_id)
    before = audit.snapshot(account)
    account.terms_days, account.grace_days = terms_days, grace_days
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="credit_account.terms",
        entity_type="credit_account",
        entity_id=account.id,
        branch_id=account.branch_id,
        before=before,
        after=audit.snapshot(account),
    )
    return account


async def view(session: AsyncSession, account: CreditAccount) -> AccountView:
    customer = await _customer(session, account.customer_id)
    held = await session.scalar(
        select(func.coalesce(func.sum(CreditHold.amount_minor), 0)).where(
            CreditHold.account_id == account.id, CreditHold.status == HoldStatus.approved
        )
    )
    return AccountView(account, customer.name, customer.credit_limit_minor, int(held or 0))


async def get_view(session: AsyncSession, account_id: int) -> AccountView:
    account = await session.get(CreditAccount, account_id)
    if not account:
        raise CreditAccountNotFound(f"Credit account {account_id} does not exist")
    return await view(session, account)


async def entry_by_reference(session: AsyncSession, reference: str) -> CreditEntry | None:
    """The entry posted under `reference`, if any. Read-only."""
    return await session.scalar(select(CreditEntry).where(CreditEntry.reference == reference))


async def post_entry(
    session: AsyncSession,
    *,
    actor: Actor,
    account_id: int,
    kind: EntryKind,
    amount_minor: int,
    currency: str,
    reference: str,
    description: str | None = None,
    occurred_at: datetime | None = None,
) -> CreditEntry:
    """Append one ledger line and move the balance with it. Idempotent by `reference`.
    `amount_minor` is positive; the kind gives the sign (adjustments take the sign given)."""
    if kind not in tuple(EntryKind):
        raise InvalidInput(f"Unknown entry kind {kind!r}.", field="kind")
    if amount_minor == 0 or (kind != EntryKind.adjustment and amount_minor < 0):
        # Whether a negative amount may be posted depends on the entry's kind (409, see Refused).
        raise Refused("The amount must be positive.", field="amount_minor")
    existing = await session.scalar(select(CreditEntry).where(CreditEntry.reference == reference))
    if existing:
        return existing
    account = await _locked(session, account_id)
    if currency.upper() != account.currency:
        raise CurrencyMismatch(f"The account is in {account.currency}, not {currency}.", field="currency")
    signed = amount_minor * SIGNS.get(kind, 1)
    at = occurred_at or utcnow()
    account.balance_minor += signed
    entry = CreditEntry(
        account_id=account.id,
        customer_id=account.customer_id,
        kind=kind,
        amount_minor=signed,
        currency=account.currency,
        balance_after_minor=account.balance_minor,
        reference=reference,
        description=description,
        occurred_at=at,
        branch_id=account.branch_id,
        due_at=at + timedelta(days=account.terms_days) if signed > 0 else None,
        created_by_id=actor.user_id,
        shift_id=actor.shift_id,
    )
    session.add(entry)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=f"credit.{kind}",
        entity_type="credit_account",
        entity_id=account.id,
        branch_id=account.branch_id,
        after={
            "entry_id": entry.id,
            "kind": kind,
            "amount_minor": signed,
            "balance_minor": account.balance_minor,
            "reference": reference,
        },
    )
    if signed < 0 and account.on_hold:
        await _maybe_release(session, actor=actor, account=account, as_of=at)
    if kind == EntryKind.sale:  # neighbours (loyalty) react to a new sale: credit/events.py
        await credit_events.emit(session, entry, actor)
    return entry


@dataclass
class SaleResult:
    status: Literal["posted", "held"]
    entry: CreditEntry | None = None
    hold: CreditHold | None = None


async def credit_sale(
    session: AsyncSession,
    *,
    actor: Actor,
    customer_id: int,
    amount_minor: int,
    currency: str,
    reference: str,
    description: str | None = None,
) -> SaleResult:
    """Post a sale on credit, or, when it would exceed available credit (or the account is on
    hold), open a credit hold for CreditHoldWorkflow to decide. Idempotent by `reference`."""
    if amount_minor <= 0:
        raise InvalidInput("The amount must be positive.", field="amount_minor")
    account = await account_for(session, customer_id, lock=True)
    if not account:
        raise CreditAccountNotFound(f"Customer {customer_id} has no credit account.")
    done = await session.scalar(select(CreditEntry).where(CreditEntry.reference == reference))
    if done:
        return SaleResult("posted", entry=done)
    hold = await session.scalar(select(CreditHold).where(CreditHold.reference == reference))
    if hold:
        return SaleResult("held", hold=hold)
    if currency.upper() != account.currency:
        raise CurrencyMismatch(f"The account is in {account.currency}, not {currency}.", field="currency")
    v = await view(session, account)
    if not account.on_hold and amount_minor <= v.available_minor:
        entry = await post_entry(
            session,
            actor=actor,
            account_id=account.id,
            kind=EntryKind.sale,
            amount_minor=amount_minor,
            currency=currency,
            reference=reference,
            description=description,
        )
        return SaleResult("posted", entry=entry)
    hold = CreditHold(
        account_id=account.id,
        customer_id=customer_id,
        amount_minor=amount_minor,
        currency=account.currency,
        reference=reference,
        description=description,
        status=HoldStatus.pending,
        branch_id=account.branch_id,
        created_by_id=actor.user_id,
        shift_id=actor.shift_id,
    )
    session.add(hold)
    await session.flush()
    hold.workflow_id = hold_workflow_id(hold.id)
    await audit.record(
        session,
        actor=actor,
        action="credit_hold.open",
        entity_type="credit_hold",
        entity_id=hold.id,
        branch_id=hold.branch_id,
        after=audit.snapshot(hold),
    )
    return SaleResult("held", hold=hold)


async def get_hold(session: AsyncSession, hold_id: int) -> CreditHold:
    hold = await session.get(CreditHold, hold_id)
    if not hold:
        raise not_found("Credit hold", hold_id)
    return hold


async def hold_fits(session: AsyncSession, *, hold_id: int) -> bool:
    """Whether available credit now covers the held sale (e.g. after a payment). Read-only."""
    hold = await get_hold(session, hold_id)
    account = await session.get(CreditAccount, hold.account_id)
    v = await view(session, account)
    return not account.on_hold and hold.amount_minor <= v.available_minor


async def settle_hold(
    session: AsyncSession, *, actor: Actor, hold_id: int, resolution: HoldResolution
) -> CreditHold:
    """Finish a hold: post the sale (approved | paid) or decline it (rejected | expired), and
    tell the clerk who rang it up. Idempotent: a settled hold is returned unchanged."""
    hold = await get_hold(session, hold_id)
    if hold.status in (HoldStatus.posted, HoldStatus.declined):
        return hold
    before = audit.snapshot(hold)
    if resolution in (HoldResolution.approved, HoldResolution.paid):
        # Approved first: the reservation counts as held until the entry exists.
        hold.status = HoldStatus.approved
        await session.flush()
        entry = await post_entry(
            session,
            actor=actor,
            account_id=hold.account_id,
            kind=EntryKind.sale,
            amount_minor=hold.amount_minor,
            currency=hold.currency,
            reference=hold.reference,
            description=hold.description,
        )
        hold.status, hold.entry_id = HoldStatus.posted, entry.id
    elif resolution in (HoldResolution.rejected, HoldResolution.expired):
        hold.status = HoldStatus.declined
    else:
        raise InvalidInput(f"Unknown resolution {resolution!r}.", field="resolution")
    hold.resolution = HoldResolution(resolution)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=f"credit_hold.{resolution}",
        entity_type="credit_hold",
        entity_id=hold.id,
        branch_id=hold.branch_id,
        before=before,
        after=audit.snapshot(hold),
    )
    if hold.created_by_id:  # tell the clerk who rang the sale up
        verb = "posted" if hold.status == "posted" else "declined"
        await notify.enqueue(
            session,
            kind="credit_hold.settled",
            to_user_id=hold.created_by_id,
            branch_id=hold.branch_id,
            subject=f"Credit sale {hold.reference} {verb}",
            body=f"The held credit sale {hold.reference} was {verb} ({resolution}).",
            link=f"/credit/customers/{hold.customer_id}",
            dedupe_key=f"credit-hold-{hold.id}:settled",
        )
    return hold


async def recent_holds(session: AsyncSession, *, account_id: int, limit: int = 20) -> list[CreditHold]:
    """The account's latest holds, newest first. Read-only."""
    rows = await session.execute(
        select(CreditHold)
        .where(CreditHold.account_id == account_id)
        .order_by(CreditHold.id.desc())
        .limit(limit)
    )
    return list(rows.scalars())


async def pending_hold_workflows(session: AsyncSession, *, account_id: int) -> list[str]:
    rows = await session.execute(
        select(CreditHold.workflow_id).where(
            CreditHold.account_id == account_id, CreditHold.status == HoldStatus.pending
        )
    )
    return [r for (r,) in rows if r]


async def entries(
    session: AsyncSession, account_id: int, *, since: datetime | None = None, until: datetime | None = None
) -> list[CreditEntry]:
    stmt = select(CreditEntry).where(CreditEntry.account_id == account_id)
    if since:
        stmt = stmt.where(CreditEntry.occurred_at >= since)
    if until:
        stmt = stmt.where(CreditEntry.occurred_at < until)
    rows = await session.execute(stmt.order_by(CreditEntry.occurred_at, CreditEntry.id))
    return list(rows.scalars())


@dataclass
class OpenItem:
    entry_id: int
    reference: str
    occurred_at: datetime
    due_at: datetime
    open_minor: int
    days_past_due: int
    bucket: str


def bucket_for(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "1-30"
    if days_past_due <= 60:
        return "31-60"
    if days_past_due <= 90:
        return "61-90"
    return "90+"


def open_items(lines: list[CreditEntry], as_of: datetime) -> tuple[list[OpenItem], int]:
    """FIFO: every credit (payment, goodwill, negative adjustment) pays the oldest open sale
    first. Returns the open invoices and any unallocated credit (a credit balance). Pure."""
    debits: list[list] = []  # [entry, open amount]
    unallocated = 0
    for e in lines:
        if e.amount_minor > 0:
            amount = e.amount_minor
            if unallocated:
                used = min(unallocated, amount)
                unallocated -= used
                amount -= used
            debits.append([e, amount])
        else:
            credit = -e.amount_minor
            for d in debits:
                if credit == 0:
                    break
                used = min(d[1], credit)
                d[1] -= used
                credit -= used
            unallocated += credit
    items = []
    for e, amount in debits:
        if amount > 0:
            due = e.due_at or e.occurred_at
            days = (as_of - due).days if as_of > due else 0
            items.append(OpenItem(e.id, e.reference, e.occurred_at, due, amount, days, bucket_for(days)))
    return items, unallocated


async def aging(session: AsyncSession, *, account_id: int, as_of: datetime | None = None) -> dict:
    """Open invoices by days past due, FIFO allocation. Read-only."""
    as_of = as_of or utcnow()
    items, unallocated = open_items(
        await entries(session, account_id, until=as_of + timedelta(microseconds=1)), as_of
    )
    buckets = dict.fromkeys(BUCKETS, 0)
    for it in items:
        buckets[it.bucket] += it.open_minor
    return {
        "as_of": as_of,
        "buckets": buckets,
        "items": items,
        "unallocated_credit_minor": unallocated,
        "total_minor": sum(buckets.values()) - unallocated,
    }


async def statement(session: AsyncSession, *, account_id: int, start: datetime, end: datetime) -> dict:
    """Opening balance, the period's entries and the closing balance. Read-only."""
    if end <= start:
        raise Refused("The period must end after it starts.", field="end")
    opening = await session.scalar(
        select(func.coalesce(func.sum(CreditEntry.amount_minor), 0)).where(
            CreditEntry.account_id == account_id, CreditEntry.occurred_at < start
        )
    )
    lines = await entries(session, account_id, since=start, until=end)
    opening = int(opening or 0)
    return {
        "account_id": account_id,
        "start": start,
        "end": end,
        "opening_minor": opening,
        "entries": lines,
        "closing_minor": opening + sum(e.amount_minor for e in lines),
    }


def is_overdue(items: list[OpenItem], grace_days: int, as_of: datetime) -> bool:
    return any(as_of > it.due_at + timedelta(days=grace_days) for it in items)


async def _maybe_release(
    session: AsyncSession, *, actor: Actor, account: CreditAccount, as_of: datetime
) -> bool:
    items, _ = open_items(await entries(session, account.id), as_of)
    if account.on_hold and not is_overdue(items, account.grace_days, as_of):
        before = audit.snapshot(account)
        account.on_hold, account.hold_reason = False, None
        await session.flush()
        await audit.record(
            session,
            actor=actor,
            action="credit_account.release",
            entity_type="credit_account",
            entity_id=account.id,
            branch_id=account.branch_id,
            before=before,
            after=audit.snapshot(account),
        )
        return True
    return False


async def sweep_overdue(session: AsyncSession, *, actor: Actor, as_of: datetime) -> dict:
    """Put accounts with an invoice past terms plus grace on hold; release paid-up ones. Idempotent."""
    held, released = [], []
    # Only accounts that owe something can be overdue; on-hold ones are checked for release.
    accounts = (
        await session.execute(
            select(CreditAccount)
            .where((CreditAccount.balance_minor > 0) | CreditAccount.on_hold.is_(True))
            .order_by(CreditAccount.id)
        )
    ).scalars()
    for account in list(accounts):
        items, _ = open_items(await entries(session, account.id), as_of)
        overdue = is_overdue(items, account.grace_days, as_of)
        if overdue and not account.on_hold:
            before = audit.snapshot(account)
            oldest = min(items, key=lambda i: i.due_at)
            account.on_hold = True
            account.hold_reason = f"Overdue since {oldest.due_at:%Y-%m-%d} ({oldest.reference})"
            await session.flush()
            await audit.record(
                session,
                actor=actor,
                action="credit_account.hold",
                entity_type="credit_account",
                entity_id=account.id,
                branch_id=account.branch_id,
                before=before,
                after=audit.snapshot(account),
            )
            held.append(account.id)
        elif not overdue and account.on_hold:
            if await _maybe_release(session, actor=actor, account=account, as_of=as_of):
                released.append(account.id)
    return {"held": held, "released": released}
