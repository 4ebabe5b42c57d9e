"""policies/policy.csv holds only rows that guard something: every (function, action) it grants
is checked somewhere (a route's require(...), a record check, a page's can(...), a menu entry,
an approval gate, a report set), so the file reads as what the system really enforces."""

from __future__ import annotations

import re
from pathlib import Path

import policies
from api.app import create_app
from backroom.plugins import each_domain
from backroom.reports import catalog
from tests.api.routes import app_routes

ROOT = Path(__file__).resolve().parent.parent
PAIR = re.compile(r"""["'](\w+)["']\s*,\s*(?:action\s*=\s*)?["'](\w+)["']""")
GATE = re.compile(r"""function\s*=\s*["'](\w+)["'](?:\s*,\s*action\s*=\s*["'](\w+)["'])?""")


def checked_pairs() -> set[tuple[str, str]]:
    functions, actions = set(policies.FUNCTIONS), set(policies.ACTIONS)
    found: set[tuple[str, str]] = set()
    for folder in ("api", "backroom", "workflows", "activities"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in (".py", ".html"):
                continue
            text = path.read_text()
            found |= {(f, a) for f, a in PAIR.findall(text) if f in functions and a in actions}
            found |= {(f, a or "approve") for f, a in GATE.findall(text) if f in functions}
    app = create_app()
    for route in app_routes(app):
        found |= set(route.permissions)
    nav = app.state.templates.env.globals["nav"]
    found |= {tuple(entry[2]) for entry in nav}
    each_domain("reports")
    found |= {(f, "list") for f in catalog.functions()}  # a function's reports need its list right
    return found


def test_every_policy_row_guards_something():
    granted = {pair for pairs in policies.role_permissions().values() for pair in pairs}
    unused = sorted(granted - checked_pairs())
    assert unused == [], f"policy.csv grants pairs no code checks: {unused}"
