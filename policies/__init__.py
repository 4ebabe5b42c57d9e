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
# Who an approval escalates to next, by role.
ESCALATES_TO = {
    "agent": "supervisor",
    "clerk": "manager",
    "finance": "manager",
    "supervisor": "manager",
    "warehouse": "manager",
    "technician": "supervisor",
    "manager": "admin",
}


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


def role_permissions() -> dict[str, set[tuple[str, str]]]:
    """Each role's (function, action) pairs, as policy.csv states them."""
    out: dict[str, set[tuple[str, str]]] = {}
    for line in POLICY.read_text().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 4 and parts[0] == "p":
            out.setdefault(parts[1], set()).add((parts[2], parts[3]))
    return out
