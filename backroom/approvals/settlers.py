"""Domain steps that settle a staff decision in the decision's own transaction.

A gate whose ask names `settled_by` has its subject changed by the same commit that closes the
inbox row: approving a credit limit applies it at once, and the approver sees the result when
the page reloads instead of after a workflow task. The workflow is told afterwards and does not
settle again. Each step is idempotent and refuses (a Conflict, the decision rolled back with it)
when its subject can no longer take the decision."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from backroom.approvals.models import ApprovalRequest
    from backroom.approvals.schemas import ApprovalOutcome
    from backroom.audit.context import Actor

Settler = Callable[..., Awaitable[None]]

# name -> "module:function"; imported on first use (the approvals domain does not import the
# domains it serves). A step is called as step(session, row=..., outcome=..., actor=...).
SETTLERS: dict[str, str] = {
    "credit.limit_change": "backroom.credit.limits:settle_decision",
}


def get(name: str) -> Settler:
    module, _, func = SETTLERS[name].partition(":")
    return getattr(importlib.import_module(module), func)


async def settle(
    session: AsyncSession, *, row: ApprovalRequest, outcome: ApprovalOutcome, actor: Actor
) -> bool:
    """Run the row's settling step, if it names one; True if it did."""
    if not row.settled_by:
        return False
    await get(row.settled_by)(session, row=row, outcome=outcome, actor=actor)
    return True
