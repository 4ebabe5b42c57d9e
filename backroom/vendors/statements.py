"""A vendor's monthly statement: the balance the month opened with, every ledger line of the
month (sales, commission, refunds, adjustments, payouts, claw-backs), totals by kind and the
closing balance. What the vendor panel shows and prints. Read-only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.errors import InvalidInput
from backroom.vendors.models import LedgerEntry, Vendor

KINDS = {
    "sale": "Sales",
    "commission": "Commission",
    "refund": "Refunds",
    "adjustment": "Adjustments",
    "payout": "Payouts",
    "clawback": "Claw-backs",
}


@dataclass(frozen=True)
class Statement:
    vendor: Vendor
    month: date  # its first day
    start: datetime
    end: datetime
    opening_minor: int
    lines: list[LedgerEntry]
    totals: dict[str, int]  # by label, in KINDS order, kinds with lines only
    closing_minor: int


# A statement month, 2000-01 or later (or empty: this month); the API documents the same pattern.
MONTH = r"^((2[0-9]{3}|[3-9][0-9]{3})-(0[1-9]|1[0-2]))?$"


def month_of(text: str | None, today: date) -> date:
    """The month "2026-11" names (default: the current month), as its first day. Raises
    InvalidInput in words for anything else."""
    if not text:
        return today.replace(day=1)
    if not re.fullmatch(MONTH, text):
        raise InvalidInput("Month must look like 2026-11.", field="month")
    return date(int(text[:4]), int(text[5:]), 1)


async def statement(session: AsyncSession, vendor: Vendor, month: date) -> Statement:
    """The vendor's statement for the calendar month (UTC) starting `month`."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
    opening = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0)).where(
            LedgerEntry.vendor_id == vendor.id, LedgerEntry.at < start
        )
    )
    lines = list(
        await session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.vendor_id == vendor.id, LedgerEntry.at >= start, LedgerEntry.at < end)
            .order_by(LedgerEntry.at, LedgerEntry.id)
        )
    )
    sums: dict[str, int] = {}
    for line in lines:
        sums[line.kind] = sums.get(line.kind, 0) + line.amount_minor
    totals = {label: sums[kind] for kind, label in KINDS.items() if kind in sums}
    return Statement(
        vendor=vendor,
        month=month,
        start=start,
        end=end,
        opening_minor=int(opening),
        lines=lines,
        totals=totals,
        closing_minor=int(opening) + sum(sums.values()),
    )
