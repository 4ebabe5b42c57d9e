"""The signed-in user as the edge sees it: identity, grants, and Casbin checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import casbin

import policies
from backroom.audit.context import Actor
from backroom.errors import Forbidden

# The vendor scope of a user who holds the vendor role but is bound to no vendor: matches no
# record, so such a user sees no vendor's products, orders or payouts (never everyone's).
NO_VENDOR = 0


def vendor_scope(vendor_id: int | None, grants: tuple[tuple[str, int | None], ...]) -> int | None:
    """The vendor a user's records are limited to: their own, NO_VENDOR for an unbound vendor role."""
    if vendor_id is None and any(role == "vendor" for role, _ in grants):
        return NO_VENDOR
    return vendor_id


@dataclass
class Principal:
    user_id: int
    username: str
    full_name: str
    grants: tuple[tuple[str, int | None], ...]  # (role, branch_id or None for every branch)
    enforcer: casbin.FastEnforcer = field(repr=False)
    vendor_id: int | None = None
    request_id: str | None = None
    shift_id: int | None = None
    via_token: bool = False
    timezone: str = "UTC"  # where the user sees times (their choice, else their first branch's)

    @property
    def subject(self) -> str:
        return policies.subject(self.user_id)

    @property
    def all_branches(self) -> bool:
        return any(b is None for _, b in self.grants)

    def roles_in(self, branch_id: int | None) -> set[str]:
        return {r for r, b in self.grants if b is None or b == branch_id}

    @property
    def _roles(self) -> dict[str, frozenset[tuple[str, str]]]:
        return policies.role_permissions(self.enforcer)

    def can(self, function: str, action: str, branch_id: int | None = None) -> bool:
        """In this branch, or (branch_id None) in at least one branch the user holds a role in.
        A set lookup per grant: no matcher is evaluated per request."""
        pair, roles = (function, action), self._roles
        return any(
            pair in roles.get(role, ())
            for role, b in self.grants
            if branch_id is None or b is None or b == branch_id
        )

    def reader(self, branch_id: int | None = None) -> Callable[[str], bool]:
        """`may_read(function)` for this user in a branch: what of an audit trail or a timeline
        they see (backroom.audit.visibility). Auditors read every function."""
        return lambda function: self.can("audit", "read", branch_id) or self.can(function, "read", branch_id)

    def require(self, function: str, action: str, branch_id: int | None = None) -> None:
        if not self.can(function, action, branch_id):
            where = f" in branch {branch_id}" if branch_id is not None else ""
            raise Forbidden(f"You may not {action} {function}{where}.", function=function, action=action)

    def branch_ids(self, function: str, action: str) -> set[int] | None:
        """Branches where the permission holds; None means every branch."""
        pair, roles = (function, action), self._roles
        held = [b for role, b in self.grants if pair in roles.get(role, ())]
        if any(b is None for b in held):
            return None
        return set(held)

    def actor(self) -> Actor:
        return Actor.user(self.user_id, self.full_name, request_id=self.request_id, shift_id=self.shift_id)
