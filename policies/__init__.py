"""Casbin model and policy (reviewed like code) and the enforcer built from them."""

from __future__ import annotations

from pathlib import Path

import casbin

HERE = Path(__file__).resolve().parent
MODEL = HERE / "model.conf"
POLICY = HERE / "policy.csv"
ALL_BRANCHES = "*"

FUNCTIONS = (
    "customers",
    "loyalty",
    "segmentation",
    "credit",
    "complaints",
    "service",
    "warranty",
    "crm",
    "carts",
    "payments",
    "orders",
    "vendors",
    "catalog",
    "coupons",
    "shipping",
    "abandoned_carts",
    "dashboard",
    "reports",
    "analytics",
    "alerts",
    "audit",
    "admin",
)
ACTIONS = ("list", "read", "create", "update", "submit", "post", "approve", "export")
ROLES = (
    "admin",
    "manager",
    "supervisor",
    "clerk",
    "agent",
    "warehouse",
    "finance",
    "vendor",
    "auditor",
    "technician",
)


def _domain_match(request_domain: str, grant_domain: str) -> bool:
    return grant_domain in (ALL_BRANCHES, request_domain)


def subject(user_id: int) -> str:
    return f"user:{user_id}"


def domain(branch_id: int | None) -> str:
    return ALL_BRANCHES if branch_id is None else str(branch_id)


def load_enforcer(grants: list[tuple[int, str, int | None]] = ()) -> casbin.FastEnforcer:
    """Build the enforcer from model.conf and policy.csv plus (user_id, role, branch_id) grants."""
    enforcer = casbin.FastEnforcer(str(MODEL), str(POLICY), cache_key_order=[1, 2])
    enforcer.add_named_domain_matching_func("g", _domain_match)
    rules = [[subject(u), role, domain(b)] for u, role, b in grants]
    if rules:
        enforcer.add_named_grouping_policies("g", rules)
    return enforcer


def role_permissions(enforcer: casbin.FastEnforcer | None = None) -> dict[str, frozenset[tuple[str, str]]]:
    """Each role's (function, action) pairs, as Casbin read them from policy.csv.

    The model is plain RBAC with domains (no role inheritance, no wildcards in p rows), so
    these sets plus a user's (role, branch) grants answer every question the matcher would,
    without evaluating it: pycasbin re-parses the matcher with `ast.parse` on each `enforce`,
    which is slow and, beside threads formatting tracebacks, raised SystemError (see
    docs/reliability.md). A test checks the answers against `enforce` for every combination.
    Cached on the enforcer; policy.csv changes need a restart, as they do anyway."""
    enforcer = enforcer or _base_enforcer()
    cached = getattr(enforcer, "_backroom_roles", None)
    if cached is None:
        roles: dict[str, set[tuple[str, str]]] = {}
        for sub, obj, act, *_ in enforcer.get_policy():
            roles.setdefault(sub, set()).add((obj, act))
        cached = {role: frozenset(pairs) for role, pairs in roles.items()}
        enforcer._backroom_roles = cached
    return cached


_BASE: list[casbin.FastEnforcer] = []


def _base_enforcer() -> casbin.FastEnforcer:
    if not _BASE:
        _BASE.append(load_enforcer())
    return _BASE[0]
