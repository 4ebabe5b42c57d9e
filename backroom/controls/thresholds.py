"""Approval thresholds: a chain-wide setting, overridden per branch (by branch code) through
APPROVAL_THRESHOLDS_BY_BRANCH. Read-only."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backroom.branches.models import Branch
from backroom.settings import Settings

# The settings that may be overridden per branch (the others are chain-wide: a product's price
# is the same everywhere).
PER_BRANCH = (
    "goodwill_approval_over_minor",
    "credit_adjustment_approval_over_minor",
    "stock_writeoff_approval_over_units",
    "cash_payout_approval_over_minor",
)


def threshold(settings: Settings, name: str, branch_code: str | None = None) -> float:
    """The threshold `name` in the branch with `branch_code` (its override, else the setting)."""
    if name in PER_BRANCH and branch_code:
        override = settings.approval_thresholds_by_branch.get(branch_code, {})
        if name in override:
            return override[name]
    return getattr(settings, name)


async def in_branch(session: AsyncSession, settings: Settings, name: str, branch_id: int) -> float:
    """The threshold `name` in the branch `branch_id`."""
    branch = await session.get(Branch, branch_id)
    return threshold(settings, name, branch.code if branch else None)
