"""Every route declares its permission, and holding no role that grants it means 403.
Plus the policy matrix: what each role may do, stated here independently of policy.csv."""

from __future__ import annotations

import pytest

import policies
from api.app import create_app
from backroom.auth.principal import Principal
from tests.api.routes import app_routes
from tests.helpers import create_branch, create_user, make_app, token_client

# Routes that may answer without a permission: signing in and out, and the health check.
SIGN_IN_AND_HEALTH = {"/login", "/logout", "/healthz"}


def test_every_route_declares_a_permission_or_is_explicitly_public():
    routes = app_routes(create_app())
    assert len(routes) > 10
    missing = [
        str(r) for r in routes if not r.permissions and not r.public and r.path not in SIGN_IN_AND_HEALTH
    ]
    assert missing == [], "routes without require(...) or PUBLIC"
    both = [str(r) for r in routes if r.permissions and r.public]
    assert both == [], "a route is either public or guarded, not both"


async def test_a_user_without_a_granting_role_gets_403_on_every_guarded_route(sqlite_db, settings):
    db = sqlite_db
    app = make_app(db, settings)
    guarded = [r for r in app_routes(app) if r.permissions]
    role_perms = policies.role_permissions()
    clients = {}
    async with db.sessionmaker.begin() as s:
        branch = await create_branch(s)
    for route in guarded:
        # Every role that lacks the route's permission, all held in one branch: still refused.
        lacking = frozenset(r for r in policies.ROLES if not (route.permissions & role_perms.get(r, set())))
        if lacking not in clients:
            async with db.sessionmaker.begin() as s:
                user = await create_user(s, grants=[(r, branch.id) for r in sorted(lacking)])
            clients[lacking] = await token_client(app, db, user)
        resp = await clients[lacking].request(
            route.method, route.url(), json={} if route.method != "GET" else None
        )
        assert resp.status_code == 403, f"{route}: {resp.status_code} {resp.text[:300]}"
        if route.is_api:
            assert resp.json()["code"] == "forbidden", str(route)
        else:
            assert "Not allowed" in resp.text, str(route)


# (role, function, action, allowed): the business rules, written out by hand.
MATRIX = [
    ("admin", "admin", "update", True),
    ("admin", "credit", "approve", True),
    ("manager", "credit", "approve", True),
    ("manager", "admin", "read", True),
    ("manager", "admin", "update", False),
    ("manager", "admin", "create", False),
    ("supervisor", "complaints", "approve", True),
    ("supervisor", "credit", "approve", False),
    ("supervisor", "payments", "create", False),
    ("clerk", "credit", "post", True),
    ("clerk", "credit", "create", True),
    ("clerk", "credit", "approve", False),
    ("clerk", "payments", "create", True),
    ("clerk", "payments", "approve", False),
    ("clerk", "orders", "approve", False),
    ("clerk", "audit", "read", False),
    ("clerk", "admin", "list", False),
    ("agent", "complaints", "update", True),
    ("agent", "customers", "read", True),
    ("agent", "credit", "approve", False),
    ("agent", "payments", "create", False),
    ("warehouse", "shipping", "create", True),
    ("warehouse", "customers", "update", False),
    ("warehouse", "payments", "create", False),
    ("finance", "credit", "approve", True),
    ("finance", "payments", "approve", True),
    ("finance", "customers", "update", False),
    ("finance", "admin", "read", False),
    ("vendor", "vendors", "update", True),
    # Issue 14: a vendor sees its own order lines through the vendor panel, not the orders.
    ("vendor", "orders", "read", False),
    ("vendor", "catalog", "update", False),
    ("vendor", "vendors", "approve", False),
    ("warehouse", "vendors", "update", False),
    ("warehouse", "catalog", "post", True),
    ("manager", "catalog", "update", True),
    ("finance", "vendors", "approve", True),
    ("vendor", "customers", "read", False),
    ("vendor", "customers", "list", False),
    ("vendor", "payments", "read", False),
    ("vendor", "audit", "read", False),
    ("auditor", "audit", "read", True),
    ("auditor", "customers", "export", True),
    ("auditor", "customers", "create", False),
    ("auditor", "orders", "create", False),
    ("auditor", "credit", "approve", False),
    ("auditor", "admin", "read", False),
]


def principal(*grants: tuple[str, int | None], user_id: int = 7) -> Principal:
    enforcer = policies.load_enforcer([(user_id, role, branch) for role, branch in grants])
    return Principal(user_id=user_id, username="u", full_name="U", grants=tuple(grants), enforcer=enforcer)


@pytest.mark.parametrize(
    "role,function,action,allowed", MATRIX, ids=[f"{r}-{f}-{a}" for r, f, a, _ in MATRIX]
)
def test_policy_matrix(role, function, action, allowed):
    p = principal((role, 3))
    assert p.can(function, action, 3) is allowed
    assert p.can(function, action, 4) is False  # granted in branch 3 only


@pytest.mark.parametrize("role", policies.ROLES)
def test_deny_by_default(role):
    # What no policy row names is refused, even to admin; no grant at all means nothing.
    p = principal((role, 3))
    assert p.can("no-such-function", "read", 3) is False
    assert p.can("customers", "delete", 3) is False
    nobody = principal()
    assert not any(nobody.can(f, a) for f in policies.FUNCTIONS for a in policies.ACTIONS)


def test_auditor_can_create_nothing_anywhere():
    p = principal(("auditor", None))
    for function in policies.FUNCTIONS:
        for action in ("create", "update", "submit", "post", "approve"):
            assert not p.can(function, action, 5), (function, action)
    assert p.can("customers", "read", 5) and p.branch_ids("customers", "read") is None


def test_policy_rows_name_known_roles_functions_and_actions():
    for role, pairs in policies.role_permissions().items():
        assert role in policies.ROLES
        for function, action in pairs:
            assert function in policies.FUNCTIONS and action in policies.ACTIONS, (role, function, action)


def test_roles_are_granted_per_branch():
    # Clerk in branch 1, finance in branch 2: credit may be approved in branch 2 only.
    p = principal(("clerk", 1), ("finance", 2))
    assert p.can("credit", "approve", 2)
    assert not p.can("credit", "approve", 1)
    assert not p.can("credit", "approve", 3)
    assert p.can("credit", "approve")  # somewhere
    assert p.branch_ids("credit", "approve") == {2}
    assert p.branch_ids("credit", "read") == {1, 2}
    with pytest.raises(Exception, match="in branch 1"):
        p.require("credit", "approve", 1)
