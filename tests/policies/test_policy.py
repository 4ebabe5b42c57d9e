"""policies/policy.csv against the code: every row guards something (issue 7: rows that guard
nothing are pruned, and come back with the feature that needs them), and the README's matrix is
the policy's own."""

from __future__ import annotations

import re
from pathlib import Path

import policies
from api.app import create_app
from backroom.aftersales.flow import STEPS as AFTERSALES_STEPS
from backroom.controls.service import RULES as FOUR_EYES_RULES
from backroom.reports import catalog
from policies import matrix
from tests.api.routes import app_routes

ROOT = Path(policies.HERE).parent
CODE = ("api", "backroom", "activities", "workflows", "worker")
# ("orders", "read"), ("buy_label", "shipping", "create"), p.can("credit", "post", ...) ...
PAIR = re.compile(r'"([a-z_]+)",\s*"([a-z_]+)"')
# The approval gates: workflows ask ApprovalAsk(function="credit", action="approve", ...).
GATE = re.compile(r'function="([a-z_]+)",\s*action="([a-z_]+)"')
# Checks whose action reaches `p.require(<function>, action)` through a helper's argument
# (e.g. `_promotion(session, p, promotion_id, "submit")`), found by reading each helper's callers.
THROUGH_HELPERS = {
    ("coupons", "submit"),
    ("coupons", "export"),
    ("coupons", "post"),
    ("credit", "post"),
    ("credit", "approve"),
    ("customers", "approve"),
    ("abandoned_carts", "post"),
    ("loyalty", "post"),
    ("warranty", "approve"),
    # workflows/complaints.py asks function="credit" if goodwill else "complaints".
    ("complaints", "approve"),
}


def checked_pairs() -> set[tuple[str, str]]:
    """Every (function, action) some route, page, template or domain check asks for."""
    used: set[tuple[str, str]] = set()
    for route in app_routes(create_app()):
        used |= route.permissions
    for folder in CODE:
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in (".py", ".html"):
                continue
            text = path.read_text()
            used |= set(PAIR.findall(text))
            for function, action in GATE.findall(text):
                # An approver decides with (function, action); others see the request with read.
                used |= {(function, action), (function, "read")}
    # A report set also needs its function's list (backroom/reports/access.may_see_function).
    used |= {(report.permission, "list") for report in catalog.functions().values()}
    used |= {("service", step.permission) for step in AFTERSALES_STEPS.values()}
    # Four-eyes requests are decided with (rule's function, approve): backroom/controls.
    used |= {(rule.function, a) for rule in FOUR_EYES_RULES.values() for a in ("approve", "read")}
    return used | THROUGH_HELPERS


def test_every_policy_row_guards_something():
    used = checked_pairs()
    idle = sorted(
        (role, function, action)
        for role, pairs in policies.role_permissions().items()
        for function, action in pairs
        if (function, action) not in used
    )
    assert idle == [], "policy rows no route, page or domain check asks for: prune them"


def test_the_helper_list_is_still_true():
    """THROUGH_HELPERS names pairs that are really held by someone (a stale entry would hide
    an idle row)."""
    held = set().union(*policies.role_permissions().values())
    assert held >= THROUGH_HELPERS


def test_readme_matrix_is_the_policy():
    readme = (ROOT / "README.md").read_text()
    assert matrix.readme_table(readme) == matrix.table(), "run: python -m policies.matrix --write"


def test_matrix_lists_every_row_of_the_policy():
    table = matrix.table()
    perms = policies.role_permissions()
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in table.splitlines()[2:] if "|" in line}
    for role_index, role in enumerate(policies.ROLES):
        for function in policies.FUNCTIONS:
            cell = rows[function].strip(" |").split(" | ")[role_index + 1]
            expected = {a for a in policies.ACTIONS if (function, a) in perms.get(role, ())}
            assert {a for a, letter in matrix.LETTERS.items() if letter in cell} == expected, (role, function)
