"""The filter bar of the module pages (dashboards and analytics) comes from one place: the
branches under the drilldown are checked against the page's function, and the choices are the
branches the user may read, by name."""

from __future__ import annotations

import pytest

import policies
from api.drilldown import Drill, filter_context
from backroom.auth.principal import Principal
from backroom.errors import Forbidden
from tests.helpers import create_branch


def _manager(branch_id: int) -> Principal:
    enforcer = policies.load_enforcer([(7, "manager", branch_id)])
    return Principal(
        user_id=7, username="m", full_name="M", grants=(("manager", branch_id),), enforcer=enforcer
    )


@pytest.mark.parametrize("function", ["dashboard", "analytics"])
async def test_filter_context_scopes_branches_and_names_the_choices(db, function):
    async with db.sessionmaker.begin() as s:
        mine, other = await create_branch(s), await create_branch(s)
        p = _manager(mine.id)
        ids, ctx = await filter_context(s, p, function, "commerce", Drill([mine.id], None, None, "Kitchen"))
        assert ids == [mine.id]
        assert ctx["slug"] == "commerce" and ctx["qs"] == f"branch={mine.id}&category=Kitchen"
        assert [name for _, name in ctx["options"].branches] == [mine.name]
        everyone, _ = await filter_context(s, p, function, "customer-ops", Drill(None, None, None, None))
        assert everyone == [mine.id]
        with pytest.raises(Forbidden):
            await filter_context(s, p, function, "commerce", Drill([other.id], None, None, None))
