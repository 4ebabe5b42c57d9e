"""Who may read which reports. Policy (policies/policy.csv): `reports`/`read` in a branch reads
that branch's reports (managers, auditors...); `reports`/`list` without `read` (clerks) reads
only the records of the caller's own shifts; `reports`/`export` downloads files. Vendors hold
none of these."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.auth.principal import Principal
from backroom.branches.models import Shift
from backroom.errors import Forbidden


@dataclass(frozen=True)
class ReportAccess:
    """The branches a report may cover (None: every branch) and, for a clerk, the shifts."""

    branch_ids: list[int] | None
    shift_ids: list[int] | None = None

    @property
    def own_shifts_only(self) -> bool:
        return self.shift_ids is not None


def own_shifts_only(p: Principal, branch_id: int | None = None) -> bool:
    """True when the caller sees only their own shifts' records (in `branch_id`, or anywhere)."""
    return not p.can("reports", "read", branch_id) and p.can("reports", "list", branch_id)


def may_see_function(p: Principal, function: str, branch_id: int | None = None) -> bool:
    """A function's reports also need the function itself: ("<function>", "list"), e.g. the
    warehouse sees the orders and shipping reports but not the credit ones."""
    from backroom.reports import catalog

    return p.can(catalog.get(function).permission, "list", branch_id)


def may_read(p: Principal, function: str, branch_id: int | None) -> bool:
    """Whether `p` may read the `function` report of one branch (None: the all-branches report)
    branch-wide, as a subscription or a snapshot needs. Pure: no database."""
    if branch_id is None:
        every = p.branch_ids("reports", "read") is None
        return every and p.branch_ids(catalog_permission(function), "list") is None
    return p.can("reports", "read", branch_id) and may_see_function(p, function, branch_id)


def catalog_permission(function: str) -> str:
    from backroom.reports import catalog

    return catalog.get(function).permission


async def resolve(
    session: AsyncSession,
    p: Principal,
    branch_ids: list[int] | None,
    *,
    action: str = "read",
    function: str | None = None,
) -> ReportAccess:
    """The access `p` has to a report over `branch_ids` (None: every branch they may see), and
    to `function`'s reports when given. Raises Forbidden, in words, for a branch outside their
    grants or a function they may not see."""
    if function is not None and not may_see_function(p, function):
        raise Forbidden(f"You may not see the {function} reports.", function=function, action="list")
    full = p.branch_ids("reports", action)
    if full is None or full:
        if branch_ids is None:
            return ReportAccess(None if full is None else sorted(full))
        outside = [b for b in branch_ids if full is not None and b not in full]
        if outside:
            raise Forbidden(
                f"You may not {action} reports of branch {outside[0]}.", function="reports", action=action
            )
        return ReportAccess(sorted(set(branch_ids)))
    own = p.branch_ids("reports", "list") if action == "read" else set()
    if not own:
        raise Forbidden(f"You may not {action} reports.", function="reports", action=action)
    if branch_ids is not None:
        outside = [b for b in branch_ids if own is not None and b not in own]
        if outside:
            raise Forbidden(
                f"You may not read reports of branch {outside[0]}.", function="reports", action="read"
            )
        own = set(branch_ids)
    stmt = select(Shift.id).where(Shift.user_id == p.user_id)
    if own is not None:
        stmt = stmt.where(Shift.branch_id.in_(own))
    shifts = list((await session.execute(stmt.order_by(Shift.id))).scalars())
    return ReportAccess(None if own is None else sorted(own), shifts)
