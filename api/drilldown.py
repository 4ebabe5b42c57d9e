"""The drilldown filters every dashboard widget and analytics view takes (branch, user/cashier,
shift, category), parsed once for API routes and pages alike and kept in the URL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query
from pydantic import WithJsonSchema

from backroom.errors import InvalidInput


@dataclass
class Drill:
    branch: list[int] | None
    user: int | None
    shift: int | None
    category: str | None

    def query(self, **extra) -> str:
        """The filters (and `extra`) as a query string, for links that keep them."""
        params = {
            "branch": self.branch or [],
            "user": self.user,
            "shift": self.shift,
            "category": self.category,
            **extra,
        }
        return urlencode({k: v for k, v in params.items() if v not in (None, "", [])}, doseq=True)

    @property
    def shift_ids(self) -> list[int] | None:
        return [self.shift] if self.shift else None


# A filter's id as a form sends it: empty (a form's "any") or a record id, 1 to 10**18 - 1.
# The OpenAPI document carries the same pattern, so what it allows is what is accepted; the
# check itself is _id's, so a page shows its words rather than a generic validation error.
ID_TEXT = r"^(0*[1-9][0-9]{0,17})?$"
IdText = Annotated[str, WithJsonSchema({"type": "string", "pattern": ID_TEXT})]


def _id(value: str | None, what: str) -> int | None:
    """An id from a form field: empty means no filter; anything else must be a record id."""
    value = value or ""
    if not re.fullmatch(ID_TEXT, value):
        raise InvalidInput(f"Choose a {what} from the list.", field=what)
    return int(value) if value else None


def drill(
    branch: Annotated[list[IdText] | None, Query(description="Branch id(s); none: all yours")] = None,
    user: Annotated[IdText | None, Query(description="Staff member (cashier) id")] = None,
    shift: Annotated[IdText | None, Query(description="Shift / session id")] = None,
    category: Annotated[str | None, Query(max_length=100, description="Product category")] = None,
) -> Drill:
    """Empty fields (a form's "any") mean no filter; a bad value is refused in words."""
    branches = [b for b in (_id(v, "branch") for v in branch or []) if b is not None]
    return Drill(branches or None, _id(user, "user"), _id(shift, "shift"), (category or "").strip() or None)


async def filter_context(session, p, function: str, slug: str, d: Drill) -> tuple[list[int] | None, dict]:
    """What a module page (dashboard or analytics) needs for its filter bar under the URL's
    drilldown: the branches to show (each checked against `function`/read; None: every
    branch) and the template values (module path, filters, query string, the choices by name
    over every branch the user may read). Read-only."""
    from backroom.analytics.access import branches_for
    from backroom.analytics.dashboard import filter_options
    from backroom.analytics.modules import PATHS, module

    m = module(slug)
    ids = branches_for(p, function, "read", d.branch)
    options = await filter_options(session, branch_ids=branches_for(p, function, "read", None))
    return ids, {"m": m, "slug": PATHS[m.key], "d": d, "qs": d.query(), "options": options}
