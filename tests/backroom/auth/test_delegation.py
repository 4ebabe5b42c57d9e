"""The delegation rule on its own: a grant needs user administration and every right of the
role, in the branch of the grant (or, for every branch, from grants in every branch)."""

from __future__ import annotations

import pytest

import policies
from backroom.auth.delegation import check_grant, check_manage, may_grant
from backroom.errors import Forbidden


def test_a_branch_admin_grants_any_role_in_its_branch_only():
    local = [("admin", 1)]
    assert all(may_grant(local, role, 1) for role in ("admin", "manager", "clerk", "vendor"))
    assert not any(may_grant(local, role, 2) for role in ("admin", "manager", "clerk"))
    assert not any(may_grant(local, role, None) for role in ("admin", "manager", "clerk"))


def test_only_a_global_admin_grants_admin_everywhere():
    assert may_grant([("admin", None)], "admin", None)
    assert may_grant([("admin", None)], "clerk", 5)
    # Admin of every branch one by one is still not admin of every branch.
    with pytest.raises(Forbidden, match="only an admin of every branch"):
        check_grant([("admin", 1), ("admin", 2)], "admin", None)


def test_rights_without_user_administration_grant_nothing():
    assert not may_grant([("manager", None)], "clerk", 1)
    assert not may_grant([("finance", None), ("manager", None)], "finance", 1)
    assert not may_grant([], "clerk", 1)


def test_managing_a_user_needs_every_grant_they_hold():
    check_manage([("admin", 1)], [("clerk", 1), ("manager", 1)])
    with pytest.raises(Forbidden):
        check_manage([("admin", 1)], [("clerk", 1), ("clerk", 2)])
    with pytest.raises(Forbidden):
        check_manage([("admin", 1)], [("auditor", None)])


def test_a_global_admin_can_grant_every_role_everywhere():
    # admin's rows must cover every other role's: otherwise nobody could hand that role out.
    for role in policies.ROLES:
        assert may_grant([("admin", None)], role, None), role
        assert may_grant([("admin", 3)], role, 3), role
