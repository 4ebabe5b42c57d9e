"""Who reads which reports, straight from policies/policy.csv (no mocks: the real enforcer)."""

from __future__ import annotations

import pytest

import policies
from backroom.auth.principal import Principal
from backroom.errors import Forbidden
from backroom.reports import access

MAIN, OTHER = 1, 2


def principal(role: str, branch: int | None = MAIN) -> Principal:
    grants = ((role, branch),)
    enforcer = policies.load_enforcer([(7, role, branch)])
    return Principal(user_id=7, username="u", full_name="U", grants=grants, enforcer=enforcer)


@pytest.mark.parametrize(
    ("role", "reads_branch", "own_shifts", "exports"),
    [
        ("manager", True, False, True),
        ("auditor", True, False, True),
        ("finance", True, False, True),
        ("supervisor", True, False, True),
        ("clerk", False, True, False),
        ("vendor", False, False, False),
    ],
)
def test_policy_matrix(role, reads_branch, own_shifts, exports):
    p = principal(role, None if role == "auditor" else MAIN)
    assert access.may_read(p, "customers", MAIN) is reads_branch
    assert access.may_read(p, "customers", OTHER) is (reads_branch and role == "auditor")
    assert access.own_shifts_only(p, MAIN) is own_shifts
    assert p.can("reports", "export", MAIN) is exports
    assert p.can("reports", "list", MAIN) is (role != "vendor")


def test_all_branch_reports_need_every_branch():
    assert access.may_read(principal("auditor", None), "orders", None)
    assert not access.may_read(principal("manager"), "orders", None)


def test_function_permission_narrows_the_report_sets():
    keeper = principal("warehouse")
    assert access.may_see_function(keeper, "shipping") and not access.may_see_function(keeper, "credit")
    assert not access.may_read(keeper, "credit", MAIN)


async def test_resolve_refuses_vendors_and_other_branches(db):
    async with db.sessionmaker() as session:
        with pytest.raises(Forbidden):
            await access.resolve(session, principal("vendor"), None, function="orders")
        with pytest.raises(Forbidden, match="branch 2"):
            await access.resolve(session, principal("manager"), [OTHER], function="orders")
        clerk = await access.resolve(session, principal("clerk"), None, function="orders")
        assert clerk.own_shifts_only and clerk.branch_ids == [MAIN]
        with pytest.raises(Forbidden):
            await access.resolve(session, principal("clerk"), None, action="export", function="orders")
        manager = await access.resolve(session, principal("manager"), None, function="orders")
        assert manager.branch_ids == [MAIN] and not manager.own_shifts_only
