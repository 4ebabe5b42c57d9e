"""Who may do what in after-sales and warranty, written out by hand from the brief (not read
from policy.csv): agents open and talk to the customer, the warehouse receives and ships, the
technician diagnoses, quotes, repairs and checks, managers approve money above the threshold."""

from __future__ import annotations

import pytest

import policies
from backroom.aftersales.flow import STEPS
from backroom.auth.principal import Principal

MATRIX = [
    ("agent", "service", "create", True),
    ("agent", "service", "update", True),
    ("agent", "service", "submit", False),
    ("agent", "service", "post", False),
    ("agent", "service", "approve", False),
    ("warehouse", "service", "post", True),
    ("warehouse", "service", "update", False),
    ("warehouse", "service", "submit", False),
    ("warehouse", "service", "create", False),
    ("technician", "service", "submit", True),
    ("technician", "service", "read", True),
    ("technician", "service", "create", False),
    ("technician", "service", "update", False),
    ("technician", "service", "post", False),
    ("technician", "service", "approve", False),
    ("technician", "warranty", "read", True),
    ("technician", "warranty", "create", False),
    ("technician", "payments", "create", False),
    ("manager", "service", "approve", True),
    ("clerk", "warranty", "create", True),
    ("clerk", "service", "submit", False),
    ("vendor", "service", "list", False),
    ("vendor", "warranty", "list", False),
    ("auditor", "service", "read", True),
    ("auditor", "service", "update", False),
]


def principal(role: str) -> Principal:
    enforcer = policies.load_enforcer([(9, role, 3)])
    return Principal(user_id=9, username="u", full_name="U", grants=((role, 3),), enforcer=enforcer)


@pytest.mark.parametrize(
    "role,function,action,allowed", MATRIX, ids=[f"{r}-{f}-{a}" for r, f, a, _ in MATRIX]
)
def test_roles(role, function, action, allowed):
    p = principal(role)
    assert p.can(function, action, 3) is allowed
    assert p.can(function, action, 4) is False  # only in the branch granted


def test_each_step_names_who_takes_it():
    by_permission = {}
    for name, step in STEPS.items():
        by_permission.setdefault(step.permission, set()).add(name)
    assert by_permission["post"] == {"receive", "hand_over"}
    assert by_permission["submit"] == {"diagnose", "quote", "repaired", "qc_pass", "qc_fail"}
    assert {"approve", "cancel", "quote_approve", "quote_decline"} <= by_permission["update"]
