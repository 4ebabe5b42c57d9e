"""What a user may hand out. Pure: no database.

A grant of a role in a branch, or its revocation, is allowed to someone who administers users
there (("admin", "update") in that branch) and holds every right the role gives, there. A grant
in every branch needs the same from grants in every branch, so only an admin of every branch
makes admins of every branch, and a branch admin cannot lift anyone (itself included) above
its own branch. The system (seed, CLI, tests) is not limited: it is not a user.
"""

from __future__ import annotations

from collections.abc import Iterable

import policies
from backroom.errors import Forbidden

ADMINISTER = ("admin", "update")
Grant = tuple[str, int | None]


def _held(grants: Iterable[Grant], branch_id: int | None) -> set[tuple[str, str]]:
    """The (function, action) pairs `grants` give in `branch_id`; None: in every branch."""
    perms = policies.role_permissions()
    held: set[tuple[str, str]] = set()
    for role, b in grants:
        if b is None or (branch_id is not None and b == branch_id):
            held |= perms.get(role, frozenset())
    return held


def may_grant(grants: Iterable[Grant], role: str, branch_id: int | None) -> bool:
    """Whether a user holding `grants` may grant (or revoke) `role` in `branch_id` (None: every branch)."""
    needed = {ADMINISTER} | policies.role_permissions().get(role, frozenset())
    return needed <= _held(grants, branch_id)


def check_grant(grants: Iterable[Grant], role: str, branch_id: int | None, verb: str = "grant") -> None:
    """Raise Forbidden, in words, unless `may_grant`."""
    grants = tuple(grants)
    if may_grant(grants, role, branch_id):
        return
    if branch_id is None:
        where = "every branch"
        why = "only someone who holds its rights in every branch may"
        if role == "admin":
            why = "only an admin of every branch may"
    else:
        where = f"branch {branch_id}"
        why = "you do not hold its rights and user administration there"
    raise Forbidden(f"You may not {verb} {role} in {where}: {why}.", function="admin", action="update")


def check_manage(grants: Iterable[Grant], target: Iterable[Grant]) -> None:
    """Acting on another user (revoking their tokens) is for someone who could have given them
    every grant they hold."""
    grants = tuple(grants)
    for role, branch_id in target:
        if not may_grant(grants, role, branch_id):
            raise Forbidden(
                "You may not manage this user: they hold rights you cannot grant.",
                function="admin",
                action="update",
            )
