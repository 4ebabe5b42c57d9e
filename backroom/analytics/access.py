"""Which branches a caller's dashboard, analytics or alert list covers. Pure (no database)."""

from __future__ import annotations

from backroom.auth.principal import Principal
from backroom.errors import Forbidden


def branches_for(p: Principal, function: str, action: str, requested: list[int] | None) -> list[int] | None:
    """The branches to show: those asked for (each must be allowed) or, when none are asked
    for, every branch the caller holds `function`/`action` in (None: every branch there is)."""
    allowed = p.branch_ids(function, action)
    if requested:
        outside = [b for b in requested if allowed is not None and b not in allowed]
        if outside:
            raise Forbidden(
                f"You may not {action} {function} of branch {outside[0]}.", function=function, action=action
            )
        return sorted(set(requested))
    if allowed is not None and not allowed:
        raise Forbidden(f"You may not {action} {function}.", function=function, action=action)
    return None if allowed is None else sorted(allowed)


async def load_branches(session, ids: list[int] | None) -> dict:
    """The branches by id, in name order (None: every branch). Unknown ids are refused."""
    from sqlalchemy import select

    from backroom.branches.models import Branch
    from backroom.errors import InvalidInput

    stmt = select(Branch).order_by(Branch.name)
    if ids is not None:
        stmt = stmt.where(Branch.id.in_(ids))
    found = {b.id: b for b in (await session.execute(stmt)).scalars()}
    missing = sorted(set(ids or ()) - set(found))
    if missing:
        raise InvalidInput(f"There is no branch with id {missing[0]}.", field="branch")
    return found
